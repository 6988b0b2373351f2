import type { EngineJob, EngineNode } from '../../src/core/engine/job';
import type { EngineSettings } from '../../src/core/engine/effects';

/** A freshly submitted job of the simulation: queued, never run, its key's limit by name (k1: 1, k2: 2). */
export function newJob(
  seq: number,
  now: number,
  priority: number,
  maxRetries: number,
  timeoutSec: number,
  key: string | null,
): EngineJob {
  return {
    seq,
    id: `j${seq}`,
    tenant: 't',
    type: 'work',
    payload: '{}',
    priority,
    status: 'queued',
    attempts: 0,
    failures: 0,
    lease_losses: 0,
    max_retries: maxRetries,
    timeout_sec: timeoutSec,
    executor: null,
    token: null,
    worker_id: null,
    started_at: null,
    lease_deadline: null,
    next_attempt_at: null,
    created_at: now,
    last_error: null,
    concurrency_key: key,
    concurrency_limit: key === 'k1' ? 1 : key === 'k2' ? 2 : null,
    rate_limit: null,
    requires: null,
    backoff: null,
    callback_url: null,
    failure_callback_url: null,
    payload_blob: null,
    traceparent: null,
    tracestate: null,
  };
}

/** The queue settings the engine's unit tests run under: no aging, no jitter, one second of grace. */
export const unitSettings: EngineSettings = {
  queue: 'q',
  leaseGraceSec: 1,
  maxLeaseLosses: 3,
  dispatchTimeoutMs: 1000,
  maxStarvationMs: 0,
  weightOf: () => 1,
  backoff: { type: 'exponential', baseSec: 1, maxSec: 60, jitter: false },
};

/** A push node that runs any type natively. */
export function pushNode(id: string, capacity = 1): EngineNode {
  return { id, capacity, types: null, executors: ['native'], labels: {}, mode: 'push' };
}
