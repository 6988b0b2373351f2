import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { AUTOSCALE_ACTIONS } from '../../core/autoscale';
import { Exposition, PROMETHEUS_CONTENT_TYPE } from '../../core/prometheus';
import { JOB_STATUSES, TERMINAL_STATUSES } from '../../protocol/job';
import { observeScope, readScope, type AppEnv } from '../context';
import { depthOf, observeAll, type Observation } from '../observe';
import { renderIsolateCosts } from '../middleware/cost-meter';

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics (text exposition format 0.0.4)',
  responses: {
    200: {
      description:
        'Queue depth, job counters, workers, heartbeat ages, dispatch-latency and run-time histograms, autoscaling advice, projection lag',
      content: {
        'text/plain': {
          schema: z.string().openapi({
            example: '# TYPE queue_depth gauge\nqueue_depth{queue="default",priority="1"} 3\n',
          }),
        },
      },
    },
  },
});

export const metricsRoutes = new OpenAPIHono<AppEnv>().openapi(metrics, async (c) => {
  const o = await observeAll(
    c.env,
    { tenant: observeScope(c), jobs: readScope(c) },
    c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC,
  );
  return c.text(render(o, c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC), 200, {
    'content-type': PROMETHEUS_CONTENT_TYPE,
    'cache-control': 'no-store',
  });
});

/** Every family is declared even with no samples, so dashboards and alerts see the full set from the start. */
export function render(o: Observation, heartbeatTimeoutSec: number): string {
  const x = new Exposition();
  const depth = x.gauge(
    'queue_depth',
    'Jobs queued and waiting for a worker, by queue and priority (0 high, 1 normal, 2 low).',
  );
  const oldest = x.gauge(
    'queue_oldest_job_age_seconds',
    'Age of the oldest queued job, by queue (0 when the queue is empty).',
  );
  const jobTotal = x.counter(
    'job_total',
    'Jobs that reached a terminal status (succeeded, failed, cancelled), from the job store.',
  );
  const inStatus = x.gauge('jobs_in_status', 'Jobs currently in each status, from the job store.');
  const submitted = x.counter(
    'jobs_submitted_total',
    'Jobs accepted by the scheduler, by queue (resets when the scheduler object restarts).',
  );
  const dispatched = x.counter(
    'jobs_dispatched_total',
    'Dispatches to worker nodes (each attempt counts), by queue.',
  );
  const completed = x.counter('jobs_completed_total', 'Attempts that succeeded, by queue.');
  const failed = x.counter('jobs_failed_total', 'Jobs that failed for good, by queue.');
  const retried = x.counter(
    'jobs_retried_total',
    'Failed attempts scheduled for a retry with backoff, by queue.',
  );
  const requeued = x.counter(
    'jobs_requeued_total',
    'Running jobs handed back to the queue at no cost (node declined, drained or left), by queue.',
  );
  const cancelled = x.counter('jobs_cancelled_total', 'Jobs cancelled, by queue.');
  const reaped = x.counter(
    'workers_reaped_total',
    'Worker nodes removed for missing heartbeats, by queue.',
  );
  const registered = x.gauge('workers_registered', 'Registered worker nodes.');
  const live = x.gauge(
    'workers_live',
    `Worker nodes that heart-beat within WORKER_HEARTBEAT_TIMEOUT_SEC (${heartbeatTimeoutSec}s).`,
  );
  const capacity = x.gauge('worker_capacity', 'Concurrent job slots of each worker node.');
  const running = x.gauge('worker_running_jobs', 'Jobs each worker node is running.');
  const age = x.gauge(
    'worker_heartbeat_age_seconds',
    'Seconds since each worker node last heart-beat.',
  );
  const ageMax = x.gauge(
    'worker_heartbeat_age_seconds_max',
    'The largest heartbeat age of any registered worker node (0 with none).',
  );
  const wait = x.histogram(
    'job_dispatch_latency_seconds',
    'Seconds from queued to running (dispatch latency), by queue and priority.',
  );
  const run = x.histogram(
    'job_run_seconds',
    'Seconds from dispatch to a successful result, by queue.',
  );
  const advice = x.gauge(
    'autoscale_recommendation',
    'Autoscaling advice by queue: 1 for the current action (scale_up, scale_down, hold), 0 for the others.',
  );
  const desired = x.gauge(
    'autoscale_desired_workers',
    'Worker nodes the autoscaling advice asks for, by queue.',
  );
  const storage = x.counter(
    'scheduler_storage_statements_total',
    "Statements on the queue object's own SQLite, by queue and kind (read, write).",
  );
  const d1 = x.counter(
    'scheduler_d1_statements_total',
    "Statements the queue's object sent to D1 (the projection and its own reads), by queue.",
  );
  const outbound = x.counter(
    'scheduler_outbound_requests_total',
    "HTTP requests the queue's object sent to worker nodes (dispatches and cancels), by queue.",
  );
  const lag = x.gauge(
    'scheduler_projection_lag_seconds',
    "Age of the oldest change the queue's object has not yet written to D1 (0 when none): how far lists (GET /jobs) may be behind, by queue.",
  );
  const pending = x.gauge(
    'scheduler_projection_pending',
    "Changes waiting in the queue's outbox for D1, by queue.",
  );

  for (const s of JOB_STATUSES) inStatus(o.jobsByStatus[s] ?? 0, { status: s });
  for (const s of TERMINAL_STATUSES) jobTotal(o.jobsByStatus[s] ?? 0, { status: s });

  for (const { queue, stats, telemetry: t } of o.queues) {
    for (const [p, n] of Object.entries(stats.queued_by_priority)) depth(n, { queue, priority: p });
    oldest(
      stats.oldest_queued_at === null || depthOf(stats) === 0
        ? 0
        : Math.max(0, (o.now - stats.oldest_queued_at) / 1000),
      { queue },
    );
    // A tenant's view has no telemetry: a queue's counters and histograms mix every tenant's jobs.
    if (!t) continue;
    submitted(t.counters.submitted, { queue });
    dispatched(t.counters.dispatched, { queue });
    completed(t.counters.completed, { queue });
    failed(t.counters.failed, { queue });
    retried(t.counters.retried, { queue });
    requeued(t.counters.requeued, { queue });
    cancelled(t.counters.cancelled, { queue });
    reaped(t.counters.reaped, { queue });
    for (const [p, h] of Object.entries(t.wait_by_priority)) wait(h, { queue, priority: p });
    run(t.run, { queue });
    storage(t.costs.storage_reads, { queue, kind: 'read' });
    storage(t.costs.storage_writes, { queue, kind: 'write' });
    d1(t.costs.d1_statements, { queue });
    outbound(t.costs.outbound_requests, { queue });
    lag(round(t.projection.seconds), { queue });
    pending(t.projection.pending, { queue });
    if (t.autoscale) {
      for (const a of AUTOSCALE_ACTIONS)
        advice(a === t.autoscale.action ? 1 : 0, { queue, action: a });
      desired(t.autoscale.desired_workers, { queue });
    }
  }

  registered(o.registeredWorkers);
  live(o.liveWorkers);
  for (const w of o.workers) {
    capacity(w.capacity, { worker: w.id });
    running(w.running, { worker: w.id });
    age(round(w.heartbeat_age_sec), { worker: w.id });
  }
  ageMax(round(o.workers.reduce((m, w) => Math.max(m, w.heartbeat_age_sec), 0)));
  // The operator's figures: what the API spends is not a tenant's business.
  if (o.operator) renderIsolateCosts(x);
  return x.render();
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
