/**
 * HMAC-SHA256 signatures, the same on both ends of the wire (Workers and Node share WebCrypto).
 *
 * Requests (`v2=`): dispatches and cancels from the scheduler to a node, and every call of the worker
 * protocol from a node to the API. The signed string is `${METHOD}\n${path}\n${timestamp}\n` followed
 * by the raw body, so a signature cannot be moved to another route or method, re-dated, or kept with
 * another body. `path` is the route's path relative to the base URL of the receiver (`/run`,
 * `/workers/register`): a proxy that mounts the receiver under a prefix and strips it changes nothing.
 *
 * Values (`v1=`): `${timestamp}.${data}` for signed blob URLs (blob-url.ts), where the method and path
 * are part of the data.
 *
 * Several comma-separated values may be sent while a key is being rotated.
 */
import { SIGNATURE_MAX_AGE_MS } from '../protocol/dispatch';

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();
/** Keys imported per isolate; past this the cache starts over (node keys are many, each is small). */
const MAX_CACHED_KEYS = 1024;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear();
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

/** `head` followed by the body's bytes. A body given as bytes is used as is. */
function concat(head: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const h = encoder.encode(head);
  const tail = typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(h.length + tail.length);
  out.set(h);
  out.set(tail, h.length);
  return out;
}

type Scheme = 'v1' | 'v2';

async function mac(secret: string, data: Uint8Array<ArrayBuffer>, scheme: Scheme): Promise<string> {
  return `${scheme}=${toHex(await crypto.subtle.sign('HMAC', await hmacKey(secret), data))}`;
}

export type VerifyFailure = 'missing' | 'malformed' | 'stale' | 'mismatch';
export type Verified = { ok: true } | { ok: false; reason: VerifyFailure };

/**
 * Checks a signature header against any of `secrets` (current and next key during rotation).
 * Comparison goes through `crypto.subtle.verify`, which is constant-time.
 */
async function check(
  scheme: Scheme,
  secrets: readonly string[],
  timestampHeader: string | null | undefined,
  signatureHeader: string | null | undefined,
  data: (ts: number) => Uint8Array<ArrayBuffer>,
  nowMs: number,
  maxAgeMs: number,
): Promise<Verified> {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: 'missing' };
  if (!/^\d{1,16}$/.test(timestampHeader)) return { ok: false, reason: 'malformed' };
  const ts = Number(timestampHeader);
  if (Math.abs(nowMs - ts) > maxAgeMs) return { ok: false, reason: 'stale' };
  const prefix = `${scheme}=`;
  const macs = signatureHeader
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(prefix))
    .map((part) => fromHex(part.slice(prefix.length)));
  if (macs.length === 0 || macs.some((m) => m === null)) return { ok: false, reason: 'malformed' };
  const bytes = data(ts);
  for (const secret of secrets) {
    const key = await hmacKey(secret);
    for (const m of macs)
      if (await crypto.subtle.verify('HMAC', key, m as Uint8Array<ArrayBuffer>, bytes))
        return { ok: true };
  }
  return { ok: false, reason: 'mismatch' };
}

/** `v1=`: HMAC of `${timestamp}.${body}` (signed blob URLs). */
export function sign(secret: string, timestampMs: number, body: string | Uint8Array) {
  return mac(secret, concat(`${timestampMs}.`, body), 'v1');
}

export function verify(
  secrets: readonly string[],
  timestampHeader: string | null | undefined,
  signatureHeader: string | null | undefined,
  body: string | Uint8Array,
  nowMs: number,
  maxAgeMs = SIGNATURE_MAX_AGE_MS,
): Promise<Verified> {
  return check(
    'v1',
    secrets,
    timestampHeader,
    signatureHeader,
    (ts) => concat(`${ts}.`, body),
    nowMs,
    maxAgeMs,
  );
}

/** What a request signature covers besides the time. */
export interface SignedRequest {
  method: string;
  /** Relative to the receiver's base URL, with the query string if there is one. */
  path: string;
  body: string | Uint8Array;
}

const requestBase = (r: SignedRequest, ts: number) =>
  concat(`${r.method.toUpperCase()}\n${r.path}\n${ts}\n`, r.body);

/** `v2=`: HMAC of `${METHOD}\n${path}\n${timestamp}\n${body}`. */
export function signRequest(secret: string, req: SignedRequest, timestampMs: number) {
  return mac(secret, requestBase(req, timestampMs), 'v2');
}

/** A `v2=` request signature; a timestamp more than `maxAgeMs` from `nowMs` either way is `stale`. */
export function verifyRequest(
  secrets: readonly string[],
  req: SignedRequest,
  timestampHeader: string | null | undefined,
  signatureHeader: string | null | undefined,
  nowMs: number,
  maxAgeMs = SIGNATURE_MAX_AGE_MS,
): Promise<Verified> {
  return check(
    'v2',
    secrets,
    timestampHeader,
    signatureHeader,
    (ts) => requestBase(req, ts),
    nowMs,
    maxAgeMs,
  );
}
