import type { JobRow } from './schema';
import type { JobResult, JobStatus } from '../protocol/job';
import type { EngineJob as ActiveJob } from '../core/engine/job';

/** Fields of a job's D1 row that only D1 keeps (the object never needs them to decide). */
type D1Only = Pick<JobRow, 'replayOf' | 'dependsOn' | 'callbackState' | 'progress' | 'result'>;

/**
 * A job's D1 row as the object's own row says it: what the submission inserts, and what the object
 * answers `GET /jobs/:id` with while D1 has not caught up (read-your-writes, docs/protocol.md 1.2).
 */
export function jobRowOf(
  job: ActiveJob,
  queue: string,
  now: number,
  version: number,
  d1Only: Partial<D1Only> = {},
): JobRow {
  return {
    id: job.id,
    tenant: job.tenant,
    queue,
    type: job.type,
    payload: job.payload,
    priority: job.priority,
    status: job.status,
    attempts: job.attempts,
    maxRetries: job.max_retries,
    timeoutSec: job.timeout_sec,
    executor: job.executor,
    createdAt: job.created_at,
    updatedAt: now,
    startedAt: job.started_at,
    finishedAt: null,
    nextAttemptAt: job.next_attempt_at,
    workerId: job.worker_id,
    result: null,
    error: job.last_error,
    concurrencyKey: job.concurrency_key,
    concurrencyLimit: job.concurrency_limit,
    rateLimit: job.rate_limit,
    requires: job.requires,
    backoff: job.backoff,
    replayOf: null,
    callbackUrl: job.callback_url,
    failureCallbackUrl: job.failure_callback_url,
    callbackState: null,
    progress: null,
    dependsOn: null,
    payloadBlob: job.payload_blob,
    traceparent: job.traceparent,
    tracestate: job.tracestate,
    version,
    ...d1Only,
  };
}

/** The row of a job that just finished, as its projection to D1 will make it. */
export function finishedRowOf(
  job: ActiveJob,
  queue: string,
  status: JobStatus,
  result: JobResult | null,
  error: string | null,
  now: number,
): JobRow {
  return {
    ...jobRowOf(job, queue, now, 0, { result: result ? JSON.stringify(result) : null }),
    status,
    error,
    finishedAt: now,
    nextAttemptAt: null,
  };
}

/**
 * What a job's D1 row says, corrected by what the object knows now: D1 may lag the object by its
 * outbox, never lead it. `fresh` is the object's row (active, or finished and not yet projected).
 */
export function mergeRows(d1: JobRow | undefined, fresh: JobRow): JobRow {
  if (!d1) return fresh;
  // A terminal row in D1 is final: the object never moves a job on from there.
  if (d1.finishedAt !== null) return d1;
  const same =
    d1.status === fresh.status &&
    d1.attempts === fresh.attempts &&
    d1.workerId === fresh.workerId &&
    d1.nextAttemptAt === fresh.nextAttemptAt;
  // D1 is current: its row is the whole answer (it has what the object does not keep).
  if (same) return d1;
  return {
    ...d1,
    status: fresh.status,
    attempts: fresh.attempts,
    workerId: fresh.workerId,
    startedAt: fresh.startedAt,
    finishedAt: fresh.finishedAt,
    nextAttemptAt: fresh.nextAttemptAt,
    error: fresh.error,
    result: fresh.finishedAt !== null ? fresh.result : d1.result,
    updatedAt: Math.max(d1.updatedAt, fresh.updatedAt),
  };
}

/**
 * A job the object takes over from its D1 row, as a fresh life: no lease, no failures counted, due
 * now. Reconciliation imports a job D1 has and the object lost; a bulk `retry` reopens a finished one.
 */
export function activeJobOf(
  r: JobRow,
  seq: number,
  status: JobStatus,
  lastError: string | null,
): ActiveJob {
  return {
    seq,
    id: r.id,
    tenant: r.tenant,
    type: r.type,
    payload: r.payload,
    priority: r.priority,
    status,
    attempts: r.attempts,
    failures: 0,
    lease_losses: 0,
    max_retries: r.maxRetries,
    timeout_sec: r.timeoutSec,
    executor: r.executor,
    token: null,
    worker_id: null,
    started_at: null,
    lease_deadline: null,
    next_attempt_at: null,
    created_at: r.createdAt,
    last_error: lastError,
    concurrency_key: r.concurrencyKey,
    concurrency_limit: r.concurrencyLimit,
    rate_limit: r.rateLimit ?? null,
    requires: r.requires,
    backoff: r.backoff,
    callback_url: r.callbackUrl,
    failure_callback_url: r.failureCallbackUrl,
    payload_blob: r.payloadBlob,
    traceparent: r.traceparent,
    tracestate: r.tracestate,
  };
}
