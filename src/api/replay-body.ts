import type { JobRow } from '../db/schema';
import type { JobSubmit, RateLimit } from '../protocol/job';

/**
 * The submission that replays a finished job: its definition (payload or blob, type, priority,
 * limits, routing, retry policy), not its callbacks or dependencies. `POST /jobs/:id/replay`,
 * `/dead-letters/replay` and a bulk replay (bulk-run.ts) all build it here.
 */
export function replayBodyOf(r: JobRow): JobSubmit {
  return {
    ...(r.payloadBlob ? { payload_blob: r.payloadBlob } : { payload: JSON.parse(r.payload) }),
    type: r.type,
    priority: r.priority as 0 | 1 | 2,
    timeout_sec: r.timeoutSec,
    max_retries: r.maxRetries,
    queue: r.queue,
    ...(r.executor ? { executor: r.executor } : {}),
    ...(r.concurrencyKey
      ? { concurrency_key: r.concurrencyKey, concurrency_limit: r.concurrencyLimit ?? 1 }
      : {}),
    ...(r.rateLimit ? { rate_limit: JSON.parse(r.rateLimit) as RateLimit } : {}),
    ...(r.requires ? { requires: JSON.parse(r.requires) as string[] } : {}),
    ...(r.backoff ? { backoff: JSON.parse(r.backoff) } : {}),
  };
}
