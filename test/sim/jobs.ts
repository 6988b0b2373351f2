import type { EngineJob } from '../../src/core/engine/job';

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
