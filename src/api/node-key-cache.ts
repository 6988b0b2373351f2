/**
 * Node keys as the worker protocol checks them: D1 behind a bounded cache in each isolate.
 *
 * Liveness must not depend on D1 answering. A node heartbeats every few seconds, and a D1 outage
 * longer than WORKER_HEARTBEAT_TIMEOUT_SEC that refused every heartbeat would reap every node. So a
 * key read from D1 is trusted for NODE_KEY_CACHE_SEC (30 s by default) without asking again; after
 * that it is read again, and if D1 fails, the copy this isolate holds stays good for up to
 * NODE_KEY_STALE_MS (asked again each NODE_KEY_CACHE_SEC meanwhile). A key this isolate has never
 * read cannot be checked while D1 is down: 503, and the node retries.
 *
 * Revocation: the revoke route drops the key from this isolate at once and tells the Scheduler
 * object of each queue of the key's scope, which deregisters its nodes and refuses them from then on.
 * Another isolate's copy is re-read within NODE_KEY_CACHE_SEC while D1 answers.
 */
import { NODE_KEY_STALE_MS } from '../core/node-key';
import { dbOf } from '../db/client';
import { findNodeKey, type NodeKey } from '../db/node-keys';
import type { Env } from '../env';
import { log } from '../log';

/** Keys remembered per isolate; the oldest read is dropped first. */
export const NODE_KEY_CACHE_ENTRIES = 10_000;

interface Entry {
  key: NodeKey;
  /** When D1 last answered for this key. */
  readAt: number;
  /** When D1 was last asked (answered or not): it is asked again once this is older than fresh. */
  askedAt: number;
}

const cache = new Map<string, Entry>();

export type Lookup =
  | { ok: true; key: NodeKey }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'unavailable'; error: string };

export async function lookUpNodeKey(
  env: Env,
  id: string,
  freshMs: number,
  nowMs = Date.now(),
): Promise<Lookup> {
  const hit = cache.get(id);
  if (hit && nowMs - hit.askedAt < freshMs) return { ok: true, key: hit.key };
  let key: NodeKey | undefined;
  try {
    key = await findNodeKey(dbOf(env.DB), id);
  } catch (err) {
    const error = String(err).slice(0, 200);
    if (hit && nowMs - hit.readAt < NODE_KEY_STALE_MS) {
      hit.askedAt = nowMs;
      log({
        level: 'warn',
        event: 'node_key_from_cache',
        key_id: id,
        read_age_sec: Math.round((nowMs - hit.readAt) / 1000),
        error,
      });
      return { ok: true, key: hit.key };
    }
    log({ level: 'warn', event: 'node_key_unavailable', key_id: id, error });
    return { ok: false, reason: 'unavailable', error };
  }
  cache.delete(id);
  if (!key) return { ok: false, reason: 'unknown' };
  if (cache.size >= NODE_KEY_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(id, { key, readAt: nowMs, askedAt: nowMs });
  return { ok: true, key };
}

/** The revoke route: this isolate reads the key again at its next use. */
export function forgetNodeKey(id: string): void {
  cache.delete(id);
}
