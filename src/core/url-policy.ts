/**
 * Which outbound URLs we are willing to call: worker URLs the scheduler pushes to, and the URLs of
 * the node-side `http` job type. Pure (no DNS, no platform imports) so the API and the worker node
 * share one set of rules.
 *
 * A pure check only sees the literal host. A name that resolves to a private address passes here;
 * the caller that actually connects must check the resolved address too (`checkOutboundAddress`),
 * at connect time, or DNS rebinding walks around the rule.
 */

export interface UrlPolicy {
  /** Hosts (`example.com`, `*.example.com`), IPs or CIDRs (v4 or v6). When set, nothing else is allowed. */
  allowlist?: readonly string[];
  /** Without an allowlist: allow loopback, private, link-local and metadata destinations. */
  allowPrivate: boolean;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

type Addr = { v: 4; bits: bigint } | { v: 6; bits: bigint };
type Cidr = { v: 4 | 6; bits: bigint; prefix: number };

const BLOCKED_NAMES = new Set(['localhost', 'metadata.google.internal', 'metadata']);

// Destinations that are never "the internet": refused unless allowPrivate or an allowlist says otherwise.
const BLOCKED_V4 = [
  '0.0.0.0/8', // "this network"; 0.0.0.0 reaches the local host on Linux
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, including the cloud metadata address 169.254.169.254
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking, used inside some clouds
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, including the broadcast address
].map(parseCidrStrict);

const BLOCKED_V6 = [
  '::/128',
  '::1/128',
  'fc00::/7', // unique-local
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local, still routed by some stacks
  'ff00::/8', // multicast
].map(parseCidrStrict);

// IPv6 prefixes whose low 32 bits are an IPv4 address the packet really goes to.
const EMBEDS_V4 = [
  '::ffff:0:0/96', // IPv4-mapped
  '::/96', // IPv4-compatible (deprecated)
  '64:ff9b::/96', // NAT64
].map(parseCidrStrict);

export function checkOutboundUrl(raw: string, policy: UrlPolicy): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return {
      ok: false,
      reason: `scheme ${url.protocol.slice(0, -1)} is not allowed; use http or https`,
    };
  if (url.username || url.password)
    return { ok: false, reason: 'credentials in the URL are not allowed' };

  // WHATWG URL parsing already normalises hex, octal and integer IPv4 forms (0x7f.1 -> 127.0.0.1).
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (!host) return { ok: false, reason: 'the URL has no host' };
  const addr = parseIp(host);

  if (policy.allowlist && policy.allowlist.length > 0) {
    return policy.allowlist.some((entry) => allowlistMatches(entry, host, addr))
      ? { ok: true, url }
      : { ok: false, reason: `host ${host} is not in the allowlist` };
  }
  if (policy.allowPrivate) return { ok: true, url };
  if (addr) {
    const why = blockedAddressReason(addr);
    return why ? { ok: false, reason: `address ${host} is ${why}` } : { ok: true, url };
  }
  if (BLOCKED_NAMES.has(host) || host.endsWith('.localhost'))
    return { ok: false, reason: `host ${host} is a local or metadata name` };
  return { ok: true, url };
}

/**
 * The connect-time half of the policy: is this resolved address one we may talk to?
 * Only meaningful without an allowlist (an allowlisted name is trusted by whoever listed it).
 */
export function checkOutboundAddress(
  ip: string,
  policy: UrlPolicy,
): { ok: true } | { ok: false; reason: string } {
  if (policy.allowPrivate || (policy.allowlist && policy.allowlist.length > 0)) return { ok: true };
  const addr = parseIp(ip.replace(/^\[|\]$/g, '').toLowerCase());
  if (!addr) return { ok: false, reason: `resolved address ${ip} is not an IP address` };
  const why = blockedAddressReason(addr);
  return why ? { ok: false, reason: `resolves to ${ip}, which is ${why}` } : { ok: true };
}

/** A config parser's check of one allowlist entry, so a typo fails at boot rather than never matching. */
export function isValidAllowlistEntry(entry: string): boolean {
  const e = entry.trim().toLowerCase();
  if (e.includes('/')) return parseCidr(e) !== null;
  if (parseIp(e.replace(/^\[|\]$/g, ''))) return true;
  return /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(e);
}

function allowlistMatches(rawEntry: string, host: string, addr: Addr | null): boolean {
  const entry = rawEntry.trim().toLowerCase().replace(/\.$/, '');
  if (!entry) return false;
  if (entry.includes('/')) {
    const cidr = parseCidr(entry);
    return !!cidr && !!addr && inCidr(addr, cidr);
  }
  const entryAddr = parseIp(entry.replace(/^\[|\]$/g, ''));
  if (entryAddr) return !!addr && entryAddr.v === addr.v && entryAddr.bits === addr.bits;
  if (addr) return false; // a name entry never matches an IP literal
  if (entry.startsWith('*.')) return host.endsWith(entry.slice(1));
  return host === entry;
}

function blockedAddressReason(addr: Addr): string | null {
  if (addr.v === 4)
    return BLOCKED_V4.some((c) => inCidr(addr, c))
      ? 'loopback, private, link-local or reserved'
      : null;
  for (const prefix of EMBEDS_V4) {
    if (inCidr(addr, prefix) && addr.bits !== 0n && addr.bits !== 1n) {
      const v4: Addr = { v: 4, bits: addr.bits & 0xffffffffn };
      if (BLOCKED_V4.some((c) => inCidr(v4, c)))
        return 'an IPv6 form of a loopback, private, link-local or reserved IPv4 address';
    }
  }
  return BLOCKED_V6.some((c) => inCidr(addr, c))
    ? 'loopback, unique-local, link-local or reserved'
    : null;
}

function inCidr(addr: Addr, cidr: Cidr): boolean {
  if (addr.v !== cidr.v) return false;
  const width = addr.v === 4 ? 32 : 128;
  const shift = BigInt(width - cidr.prefix);
  return addr.bits >> shift === cidr.bits >> shift;
}

function parseCidr(text: string): Cidr | null {
  const [ipText, prefixText, extra] = text.split('/');
  if (extra !== undefined || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return null;
  const addr = parseIp(ipText.replace(/^\[|\]$/g, ''));
  const prefix = Number(prefixText);
  if (!addr || prefix > (addr.v === 4 ? 32 : 128)) return null;
  return { v: addr.v, bits: addr.bits, prefix };
}

function parseCidrStrict(text: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new Error(`bad built-in CIDR ${text}`);
  return cidr;
}

/** Parses a dotted-quad IPv4 or an IPv6 literal (with `::` and an optional dotted IPv4 tail). */
export function parseIp(text: string): Addr | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { v: 4, bits: v4 };
  const v6 = parseIpv6(text);
  return v6 === null ? null : { v: 6, bits: v6 };
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let bits = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    bits = (bits << 8n) | BigInt(Number(p));
  }
  return bits;
}

function parseIpv6(text: string): bigint | null {
  if (!text.includes(':') || text.includes('%')) return null; // zone ids never reach a URL host
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.reduce((acc: bigint, g: number) => (acc << 16n) | BigInt(g), 0n);
}
