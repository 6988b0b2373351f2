import { dbOf } from '../db/client';
import { knownQueues } from '../db/queues';
import type { Env } from '../env';
import { log } from '../log';
import { ApiError } from './errors';

/**
 * The queues a request fans out to when it has no narrower list: every active queue of the registry
 * (src/db/queues.ts), never one that retired. A node's heartbeat and long poll name their own
 * queues instead and skip this read. D1 not answering is a 503 the caller may retry, not a 500.
 */
export async function registryQueues(env: Env): Promise<string[]> {
  try {
    return await knownQueues(dbOf(env.DB));
  } catch (e) {
    log({ event: 'queue_registry_unavailable', error: String(e).slice(0, 300) });
    throw new ApiError(
      503,
      'registry_unavailable',
      'the queue registry (D1) did not answer; a heartbeat that names its queues does not need it',
      undefined,
      { 'retry-after': '5' },
    );
  }
}
