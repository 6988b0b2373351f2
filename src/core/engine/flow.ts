import { rateLimitOf, type RateGate, type RateStart } from '../rate-gate';
import type { JobStore } from './effects';
import type { EngineJob } from './job';

/**
 * An operator's controls over one queue (POST /queues/:name/pause and /resume, PUT /queues/:name):
 * a paused queue takes jobs and starts none, and `concurrency_limit` caps how many of its jobs run
 * at once across all its nodes. Kept in the queue's storage, so they hold across restarts.
 */
export interface QueueControls {
  paused: boolean;
  /** At most this many of the queue's jobs running at once; null: no cap beyond the nodes' slots. */
  concurrency_limit: number | null;
}

export const NO_CONTROLS: QueueControls = { paused: false, concurrency_limit: null };

/** What the engine rebuilds on start besides the job rows: rate-limit starts and the controls. */
export interface FlowRestore {
  starts?: Iterable<RateStart>;
  controls?: QueueControls;
}

/**
 * How many more jobs a dispatch pass may start under the queue's controls: none while paused,
 * the cap less what runs (a cap lowered below what runs stops nothing, it only starts none), else
 * no bound.
 */
export function startBudget(controls: QueueControls, running: number): number {
  if (controls.paused) return 0;
  if (controls.concurrency_limit === null) return Infinity;
  return Math.max(0, controls.concurrency_limit - running);
}

/** The parked jobs of the rate gate whose key has room again, for the ready queue. */
export function wakeParked(
  rates: RateGate,
  now: number,
  queued: (seq: number) => boolean,
  enqueue: (seq: number) => void,
): void {
  for (const seq of rates.due(now, queued)) enqueue(seq);
}

/** A job starts: a rate-limited one's start is counted, and stored in the same turn as its row. */
export function countStart(rates: RateGate, store: JobStore, job: EngineJob, now: number): void {
  const rate = rateLimitOf(job.rate_limit);
  if (!rate) return;
  const { start, forgetBefore } = rates.started(rate, now);
  store.recordStart(start, forgetBefore);
}
