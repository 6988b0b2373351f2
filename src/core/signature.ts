/**
 * HMAC-SHA256 request signatures, the same on both ends of the wire (Workers and Node share WebCrypto).
 * The signed string is `${timestamp}.${body}`; the header value is `v1=<hex>`, and several
 * comma-separated `v1=` values may be sent while a key is being rotated.
 */
import { SIGNATURE_MAX_AGE_MS } from '../protocol/dispatch';

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keyCache.set(secret, key);
  }
  return key;
}

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array | null {
  if (!/^[0-9a-f]*$/i.test(hex) || hex.length % 2) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `${timestamp}.` followed by the body's bytes: what is signed. A body given as bytes is used as is. */
function signedBytes(timestampMs: number, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${timestampMs}.`);
  const tail = typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

export async function sign(
  secret: string,
  timestampMs: number,
  body: string | Uint8Array,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    'HMAC',
    await hmacKey(secret),
    signedBytes(timestampMs, body),
  );
  return `v1=${toHex(mac)}`;
}

export type VerifyFailure = 'missing' | 'malformed' | 'stale' | 'mismatch';

/**
 * Checks a signature header against any of `secrets` (current and next key during rotation).
 * Comparison goes through `crypto.subtle.verify`, which is constant-time.
 */
export async function verify(
  secrets: readonly string[],
  timestampHeader: string | null | undefined,
  signatureHeader: string | null | undefined,
  body: string | Uint8Array,
  nowMs: number,
  maxAgeMs = SIGNATURE_MAX_AGE_MS,
): Promise<{ ok: true } | { ok: false; reason: VerifyFailure }> {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: 'missing' };
  if (!/^\d{1,16}$/.test(timestampHeader)) return { ok: false, reason: 'malformed' };
  const ts = Number(timestampHeader);
  if (Math.abs(nowMs - ts) > maxAgeMs) return { ok: false, reason: 'stale' };
  const macs = signatureHeader
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => fromHex(part.slice(3)));
  if (macs.length === 0 || macs.some((m) => m === null)) return { ok: false, reason: 'malformed' };
  const data = signedBytes(ts, body);
  for (const secret of secrets) {
    const key = await hmacKey(secret);
    for (const mac of macs)
      if (await crypto.subtle.verify('HMAC', key, mac as Uint8Array<ArrayBuffer>, data))
        return { ok: true };
  }
  return { ok: false, reason: 'mismatch' };
}
