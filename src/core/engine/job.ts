import type { JobStatus } from '../../protocol/job';
import type { ExecutorName } from '../../protocol/common';
import type { WorkerMode } from '../../protocol/worker';

/** A job its queue still owns (not terminal), as the queue's object keeps it in its own SQLite. */
export interface EngineJob {
  seq: number;
  id: string;
  tenant: string;
  type: string;
  payload: string;
  priority: number;
  status: JobStatus;
  attempts: number;
  failures: number;
  lease_losses: number;
  max_retries: number;
  timeout_sec: number;
  executor: ExecutorName | null;
  token: string | null;
  worker_id: string | null;
  started_at: number | null;
  lease_deadline: number | null;
  next_attempt_at: number | null;
  created_at: number;
  last_error: string | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  /** JSON RateLimitSpec (src/core/rate-gate.ts), or null. */
  rate_limit: string | null;
  /** JSON array of label selectors, or null. */
  requires: string | null;
  /** JSON RetryBackoff, or null for the queue's defaults. */
  backoff: string | null;
  callback_url: string | null;
  failure_callback_url: string | null;
  /** An uploaded blob the job runs with instead of its payload, or null. */
  payload_blob: string | null;
  /** W3C trace context the dispatch hands to the node (src/core/trace-context.ts), or null. */
  traceparent: string | null;
  tracestate: string | null;
}

/** What the engine needs of a node to route and count: the rest of its row is the shell's. */
export interface EngineNode {
  id: string;
  capacity: number;
  types: string[] | null;
  executors: ExecutorName[];
  labels: Record<string, string>;
  mode: WorkerMode;
}

/** What a node presents for an attempt: a result, a progress line, a heartbeat's lease, a decline. */
export interface Claim {
  job_id: string;
  attempt: number;
  token: string;
  /** Absent when the caller already knows the node (a dispatch's own answer). */
  worker_id?: string;
}

/**
 * The one lease check: does this claim still hold the job? Only the running attempt's node, with
 * the attempt's number and fencing token, does; a re-dispatched, timed-out, cancelled or finished
 * attempt does not. Every verb that acts on an attempt asks here, so no path can disagree.
 */
export function holds(job: EngineJob | null | undefined, claim: Claim): job is EngineJob {
  return (
    !!job &&
    job.status === 'running' &&
    job.attempts === claim.attempt &&
    job.token === claim.token &&
    (claim.worker_id === undefined || job.worker_id === claim.worker_id)
  );
}

export function canRun(node: EngineNode, job: EngineJob): boolean {
  if (node.types && !node.types.includes(job.type)) return false;
  if (job.executor && !node.executors.includes(job.executor)) return false;
  if (job.requires)
    for (const selector of JSON.parse(job.requires) as string[])
      if (!labelMatches(node.labels, selector)) return false;
  return true;
}

function labelMatches(labels: Record<string, string>, selector: string): boolean {
  const eq = selector.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, selector);
  return labels[selector.slice(0, eq)] === selector.slice(eq + 1);
}

/** Why no live node can run the job, for `/stats` (a job never waits silently). */
export function unroutableReason(job: EngineJob, live: EngineNode[]): string {
  if (live.length === 0) return 'no live worker node';
  if (!live.some((w) => !w.types || w.types.includes(job.type)))
    return `no live node runs type ${job.type}`;
  if (job.executor && !live.some((w) => w.executors.includes(job.executor!)))
    return `no live node offers executor ${job.executor}`;
  return `no live node has labels ${job.requires}`;
}
