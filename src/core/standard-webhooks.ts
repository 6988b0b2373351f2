/**
 * Standard Webhooks (https://www.standardwebhooks.com, the scheme of Svix, Clerk, OpenAI) for what
 * we send to receivers we do not run: job callbacks and the scale webhook. Receivers then verify with
 * an off-the-shelf library in their own language instead of code copied from our docs.
 *
 * The dispatch signature to worker nodes (src/core/signature.ts, `v1=` hex keyed with WORKER_TOKEN)
 * is our own protocol between our own processes and stays as it is.
 */

const encoder = new TextEncoder();
const PREFIX = 'whsec_';
/** The spec asks for keys of 24 to 64 bytes; shorter ones are guessable, longer ones are a mistake. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/** The HMAC key of a `whsec_<base64>` secret, or why it is not one (for the config error). */
export function parseSigningKey(
  secret: string,
): { ok: true; key: Uint8Array<ArrayBuffer> } | { ok: false; message: string } {
  const usage = `must be ${PREFIX} followed by base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes (Standard Webhooks)`;
  if (!secret.startsWith(PREFIX)) return { ok: false, message: usage };
  const b64 = secret.slice(PREFIX.length);
  // atob is lenient about padding and whitespace; a key copied with a stray character must not pass.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0)
    return { ok: false, message: `${usage}: the part after ${PREFIX} is not base64` };
  const key = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES)
    return { ok: false, message: `${usage}: it decodes to ${key.length} bytes` };
  return { ok: true, key };
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    const parsed = parseSigningKey(secret);
    // Config validation (src/env.ts) refuses such keys at start; reaching this is a bug.
    if (!parsed.ok) throw new Error(`invalid webhook signing key: ${parsed.message}`);
    key = crypto.subtle.importKey('raw', parsed.key, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    keyCache.set(secret, key);
  }
  return key;
}

function toBase64(buf: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(buf)));
}

/**
 * The three headers of one delivery attempt. `id` names the event and must be the same on every
 * retry of it, so receivers can deduplicate; the timestamp is the attempt's, so a retry hours later
 * still passes the receivers' five-minute replay window. With two keys (current and next, during a
 * rotation) the signature header carries two space-separated `v1,` values.
 */
export async function webhookHeaders(
  secrets: readonly string[],
  id: string,
  body: string,
  nowMs: number,
): Promise<Record<string, string>> {
  const ts = Math.floor(nowMs / 1000);
  const data = encoder.encode(`${id}.${ts}.${body}`);
  const sigs = await Promise.all(
    secrets.map(
      async (s) => `v1,${toBase64(await crypto.subtle.sign('HMAC', await hmacKey(s), data))}`,
    ),
  );
  return {
    [WEBHOOK_ID_HEADER]: id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(ts),
    [WEBHOOK_SIGNATURE_HEADER]: sigs.join(' '),
  };
}

/**
 * A callback's webhook-id, derived from what identifies the event: the same for every retry and for a
 * repeated hand-over of the same delivery (no state to keep), different for every other event. The
 * body holds the job's id, the event and its finish time, so a job that ends again is a new id.
 */
export async function callbackWebhookId(jobId: string, event: string, body: string) {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(`${jobId}.${event}.${body}`));
  const hex = Array.from(new Uint8Array(digest).slice(0, 16), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return `msg_${hex}`;
}
