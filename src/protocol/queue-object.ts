/**
 * What the API and a queue's Scheduler object hand each other over RPC. Plain types, not zod
 * schemas: neither end is a client, and the API has validated every field (with the schemas of
 * job.ts and worker.ts) before it builds one of these. They live here, not beside the object, so
 * that the API, the schedule keeper and the object share one definition without src/ importing
 * durable-objects/ (issue 14).
 */
import type { RateLimit, RetryBackoff } from './job';

/** The node key a node registers with (src/api/node-scope.ts); null for the shared WORKER_TOKEN. */
export interface NodeKeyRef {
  key_id: string;
  /** The HMAC key of the node's dispatches. */
  sign_key: string;
}

/** A job as the API hands it to the scheduler on submit. */
export interface NewJob {
  id: string;
  tenant: string;
  type: string;
  payload: string;
  priority: number;
  max_retries: number;
  timeout_sec: number;
  executor: 'native' | 'wasm' | null;
  created_at: number;
  run_at: number | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  /** At most `limit` starts of jobs with `key` in any `period_sec` (src/core/rate-gate.ts). */
  rate_limit?: RateLimit | null;
  requires: string[] | null;
  backoff: RetryBackoff | null;
  replay_of?: string | null;
  callback_url?: string | null;
  failure_callback_url?: string | null;
  /** Ids of jobs of the same queue (or of the same submission) this one waits for. */
  depends_on?: string[] | null;
  /** An uploaded blob the job runs with instead of its (null) payload. */
  payload_blob?: string | null;
  /** W3C trace context (src/core/trace-context.ts): the job's own, or its submitter's. */
  traceparent?: string | null;
  tracestate?: string | null;
  /** Debounce key (per tenant, in this queue); run_at is then the submission plus its delay. */
  debounce?: { key: string; delay_sec: number } | null;
}

/** An object's "no": the status and code the API answers with (an ApiError, src/api/errors.ts). */
export type Refusal = {
  ok: false;
  status: 400 | 401 | 404 | 409 | 503;
  code: string;
  message: string;
  details?: Record<string, unknown>;
};
export type Outcome<T> = ({ ok: true } & T) | Refusal;

export interface QueueStats {
  queue: string;
  by_status: Record<string, number>;
  queued_by_priority: Record<string, number>;
  oldest_queued_at: number | null;
  workers: {
    registered: number;
    live: number;
    draining: number;
    capacity: number;
    running: number;
  };
  /** Queued jobs no live node can run, and why. */
  unroutable: { count: number; reasons: Record<string, number> };
  /** Queued jobs waiting for a slot of their concurrency key. */
  parked_by_concurrency_key: number;
  /** Queued jobs waiting for room in their rate-limit key's window. */
  parked_by_rate_limit: number;
  /** The operator's controls (POST /queues/:name/pause, PUT /queues/:name). */
  paused: boolean;
  concurrency_limit: number | null;
}

/** A pull node's lease request as the API hands it to each queue's scheduler. */
export interface LeaseTerms {
  max_jobs?: number;
  wait_ms: number;
  request_id: string;
  prefetch?: number;
  /** Wire version 3: the node's grant to this queue. */
  credit?: number;
}
