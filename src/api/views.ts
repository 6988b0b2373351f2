import type { CallbackState, JobRow } from '../db/schema';
import type { Job, JobResult } from '../protocol/job';
import { traceIdOf } from '../core/trace-context';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function progressView(p: {
  percent: number | null;
  message: string | null;
  attempt: number;
  at: number;
}): NonNullable<Job['progress']> {
  return { percent: p.percent, message: p.message, attempt: p.attempt, at: iso(p.at)! };
}

function callbackView(s: CallbackState): NonNullable<Job['callback']> {
  return { ...s, next_attempt_at: iso(s.next_attempt_at), delivered_at: iso(s.delivered_at) };
}

/** A D1 row as clients see it: times as RFC 3339, payload and result as JSON. */
export function jobView(r: JobRow): Job {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload),
    payload_blob: r.payloadBlob ?? null,
    priority: r.priority as Job['priority'],
    status: r.status,
    attempts: r.attempts,
    max_retries: r.maxRetries,
    timeout_sec: r.timeoutSec,
    executor: r.executor ?? null,
    concurrency_key: r.concurrencyKey,
    concurrency_limit: r.concurrencyLimit,
    rate_limit: r.rateLimit ? (JSON.parse(r.rateLimit) as Job['rate_limit']) : null,
    requires: r.requires ? (JSON.parse(r.requires) as string[]) : [],
    backoff: r.backoff ? (JSON.parse(r.backoff) as Job['backoff']) : null,
    replay_of: r.replayOf ?? null,
    depends_on: r.dependsOn ? (JSON.parse(r.dependsOn) as string[]) : [],
    callback_url: r.callbackUrl ?? null,
    failure_callback_url: r.failureCallbackUrl ?? null,
    callback: r.callbackState ? callbackView(JSON.parse(r.callbackState) as CallbackState) : null,
    progress: r.progress ? progressView(JSON.parse(r.progress)) : null,
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    next_attempt_at: iso(r.nextAttemptAt),
    worker_id: r.workerId,
    trace_id: r.traceparent ? traceIdOf(r.traceparent) : null,
    result: r.result ? (JSON.parse(r.result) as JobResult) : null,
    error: r.error,
  };
}
