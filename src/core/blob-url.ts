/**
 * Signed, expiring blob URLs: `<path>?exp=<unix seconds>&sig=<hex>`, where the signature is the
 * HMAC-SHA256 (src/core/signature.ts, keyed with WORKER_TOKEN) of `${exp}.${METHOD} ${path}`. The
 * method is signed so a download URL cannot be used to upload, and the path so a URL cannot be
 * pointed at another blob. Pure: the caller passes the time.
 */
import { sign, verify } from './signature';

export type BlobUrlFailure = 'missing' | 'malformed' | 'expired' | 'mismatch';

/** A signed URL may not claim to live longer than this (the longest job timeout plus slack). */
const MAX_LIFETIME_SEC = 2 * 86_400;

export async function signBlobUrl(
  secret: string,
  method: 'GET' | 'PUT',
  path: string,
  expSec: number,
): Promise<string> {
  const mac = await sign(secret, expSec, `${method} ${path}`);
  return `${path}?exp=${expSec}&sig=${mac.slice('v1='.length)}`;
}

export async function verifyBlobUrl(
  secrets: readonly string[],
  method: 'GET' | 'PUT',
  path: string,
  exp: string | undefined,
  sig: string | undefined,
  nowMs: number,
): Promise<{ ok: true } | { ok: false; reason: BlobUrlFailure }> {
  if (!exp || !sig) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig))
    return { ok: false, reason: 'malformed' };
  const expSec = Number(exp);
  if (expSec * 1000 > nowMs + MAX_LIFETIME_SEC * 1000) return { ok: false, reason: 'malformed' };
  // The timestamp window is not the check here (the expiry is): any age passes verify(), then exp decides.
  const checked = await verify(
    secrets,
    exp,
    `v1=${sig}`,
    `${method} ${path}`,
    nowMs,
    Number.POSITIVE_INFINITY,
  );
  if (!checked.ok)
    return { ok: false, reason: checked.reason === 'mismatch' ? 'mismatch' : 'malformed' };
  // Checked after the signature, so a tampered exp reads as a bad signature rather than as expired.
  if (expSec * 1000 < nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}
