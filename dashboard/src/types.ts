/**
 * What the page reads from the API. Jobs, workers and attempts are the zod-inferred wire types of
 * src/protocol (type-only imports: nothing of zod reaches the browser). GET /stats, /stats/history
 * and /workers are declared in their route files, which import the Workers runtime, so the fields
 * the page draws are restated here.
 */
import type { Job, JobList } from '../../src/protocol/job';
import type { WorkerView } from '../../src/protocol/worker';
import type { JobAttempt } from '../../src/protocol/attempt';
import type { BulkAction } from '../../src/protocol/bulk';
import type { z } from '@hono/zod-openapi';

export type { BulkAction, Job, JobAttempt, WorkerView };
export type JobPage = z.infer<typeof JobList>;

export type ScaleAction = 'scale_up' | 'scale_down' | 'hold';

export interface Stats {
  queue_depth: number;
  queue_depth_by_priority: Record<string, number>;
  workers: number;
  live_workers: number;
  jobs_by_status: Record<string, number>;
  success_rate: number | null;
  oldest_queued_age_sec: number | null;
  unroutable: { count: number; reasons: Record<string, number> };
  throughput: { succeeded: number; failed: number };
  wait_by_priority: Record<string, { p95: number | null }>;
  autoscale: {
    action: ScaleAction;
    current_workers: number;
    desired_workers: number;
    reason: string;
    since: string;
  };
  queues: string[];
}

/** GET /queues/:name: the queue's controls and figures (src/api/routes/system.ts). */
export interface QueueView {
  queue: string;
  paused: boolean;
  concurrency_limit: number | null;
  depth: number;
  running: number;
  parked_by_rate_limit: number;
}

/** GET /stats/history: one point per `step` seconds from `start`. */
export interface History {
  start: number;
  step: number;
  finished: number[];
  submitted: number[];
  depth: (number | null)[];
}

/** GET /workers: an API key is told only how many nodes are live; their details are the admin's. */
export interface WorkerList {
  workers?: WorkerView[];
  live_workers: number;
}
