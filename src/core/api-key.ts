/**
 * API keys look like `ck_<id>_<secret>`: the id (12 characters) finds the row, the secret (32 bytes,
 * base64url) is checked against the SHA-256 stored for it. Only the hash is kept; the key is shown once.
 * Node keys (node-key.ts) have the same shape with `nk_`.
 */
const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
export type KeyKind = 'ck' | 'nk';
const KEY_FORMAT = /^(ck|nk)_([a-z2-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  id: string;
  key: string;
  secretHash: string;
}

export async function newKey(kind: KeyKind): Promise<NewApiKey> {
  const idBytes = crypto.getRandomValues(new Uint8Array(12));
  const id = Array.from(idBytes, (b) => ID_ALPHABET[b & 31]).join('');
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { id, key: `${kind}_${id}_${secret}`, secretHash: await sha256Hex(secret) };
}

export const newApiKey = () => newKey('ck');

export function parseKey(kind: KeyKind, key: string): { id: string; secret: string } | null {
  const m = KEY_FORMAT.exec(key);
  return m && m[1] === kind ? { id: m[2], secret: m[3] } : null;
}

export const parseApiKey = (key: string) => parseKey('ck', key);

export async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Constant-time comparison of two equal-length hex digests. */
export function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function base64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
