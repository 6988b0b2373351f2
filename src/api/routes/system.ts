import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { QueueName } from '../../protocol/common';
import { schedulerFor, observeScope, readScope, type AppEnv } from '../context';
import { errors } from '../openapi-helpers';
import { ApiError } from '../errors';
import { allWorkers } from './workers';
import { AUTOSCALE_ACTIONS } from '../../core/autoscale';
import type { QueueStats } from '../../protocol/queue-object';
import { observeAll, overallAdvice, waitQuantiles } from '../observe';
import { dbOf } from '../../db/client';
import { tenantMinute } from '../../db/tenant-minute';

/** When this isolate started: what `uptime_sec` measures (a Worker has no single process). */
const STARTED_AT = Date.now();

const health = createRoute({
  method: 'get',
  path: '/health',
  tags: ['operations'],
  summary: 'Liveness: 200 whenever the Worker answers',
  responses: {
    200: {
      description: 'Alive',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
    },
  },
});

const ready = createRoute({
  method: 'get',
  path: '/ready',
  tags: ['operations'],
  summary: 'Readiness: 503 until at least one live worker node is registered',
  responses: {
    200: {
      description: 'Ready',
      content: {
        'application/json': {
          schema: z.object({ status: z.literal('ready'), live_workers: z.number().int() }),
        },
      },
    },
    ...errors(503),
  },
});

const Advice = z
  .object({
    action: z.enum(AUTOSCALE_ACTIONS),
    reason: z.string(),
    current_workers: z.number().int(),
    desired_workers: z.number().int(),
    queue_depth: z.number().int(),
    trend_per_min: z.number().nullable().openapi({
      description:
        'Change of queue depth per minute over the last minute; null until enough history',
    }),
    since: z.string().datetime().openapi({ description: 'When this advice was first made' }),
  })
  .openapi('AutoscaleAdvice');

const StatsBody = z
  .object({
    queue_depth: z.number().int(),
    queue_depth_by_priority: z.record(z.string(), z.number().int()),
    workers: z.number().int(),
    live_workers: z.number().int(),
    jobs_by_status: z.record(z.string(), z.number().int()),
    success_rate: z
      .number()
      .nullable()
      .openapi({ description: 'succeeded / (succeeded + failed), null before any job finished' }),
    oldest_queued_age_sec: z.number().nullable(),
    unroutable: z
      .object({ count: z.number().int(), reasons: z.record(z.string(), z.number().int()) })
      .openapi({
        description:
          'Queued jobs that no live worker node can run (type, executor or labels), and why',
      }),
    parked_by_concurrency_key: z
      .number()
      .int()
      .openapi({ description: 'Queued jobs waiting for a slot of their concurrency key' }),
    throughput: z
      .object({
        window_sec: z.literal(60),
        submitted: z.number().int(),
        dispatched: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        finished_per_sec: z.number(),
      })
      .openapi({ description: 'Jobs over the last minute' }),
    wait_by_priority: z
      .record(
        z.string(),
        z.object({
          p50: z.number().nullable(),
          p95: z.number().nullable(),
          count: z.number().int(),
        }),
      )
      .openapi({
        description:
          'Seconds from queued to running, estimated from the dispatch-latency histogram, per priority',
      }),
    autoscale: Advice.extend({
      queue: z.string().nullable().openapi({
        description: 'The queue the advice comes from; null when it stands for every queue',
      }),
    }),
    autoscale_by_queue: z.record(z.string(), Advice),
    uptime_sec: z.number(),
    queues: z.array(z.string()),
  })
  .openapi('Stats');

const stats = createRoute({
  method: 'get',
  path: '/stats',
  tags: ['operations'],
  summary:
    'Queue depth, workers, jobs by status, success rate, throughput, wait times, autoscaling advice, uptime',
  responses: {
    200: { description: 'Stats', content: { 'application/json': { schema: StatsBody } } },
  },
});

const queueHead = createRoute({
  method: 'get',
  path: '/queues/{name}',
  tags: ['operations'],
  summary: 'A queue and its head in dispatch order',
  request: {
    params: z.object({ name: QueueName.openapi({ param: { name: 'name', in: 'path' } }) }),
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(50) }),
  },
  responses: {
    200: {
      description: 'The queue',
      content: {
        'application/json': {
          schema: z.object({
            queue: z.string(),
            depth: z.number().int(),
            depth_by_priority: z.record(z.string(), z.number().int()),
            by_status: z.record(z.string(), z.number().int()),
            paused: z.boolean().openapi({
              description: 'Paused (POST /queues/:name/pause): accepts jobs, starts none',
            }),
            concurrency_limit: z.number().int().nullable().openapi({
              description:
                "The cap on the queue's running jobs (PUT /queues/:name), null when none",
            }),
            running: z.number().int().openapi({ description: "The queue's running jobs" }),
            parked_by_concurrency_key: z.number().int(),
            parked_by_rate_limit: z.number().int().openapi({
              description: 'Queued jobs waiting for room in their rate-limit window',
            }),
            head: z.array(
              z.object({
                id: z.string(),
                priority: z.number().int(),
                type: z.string(),
                created_at: z.string(),
              }),
            ),
          }),
        },
      },
    },
    ...errors(400),
  },
});

export const systemRoutes = new OpenAPIHono<AppEnv>();

systemRoutes.openapi(health, (c) => c.json({ status: 'ok' as const }, 200));

systemRoutes.openapi(ready, async (c) => {
  const live = (await allWorkers(c.env)).filter(
    (w) => w.heartbeat_age_sec <= c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC,
  );
  if (live.length === 0) {
    throw new ApiError(503, 'not_ready', 'no live worker node is registered yet');
  }
  return c.json({ status: 'ready' as const, live_workers: live.length }, 200);
});

systemRoutes.openapi(stats, async (c) => {
  const o = await observeAll(
    c.env,
    { tenant: observeScope(c), jobs: readScope(c) },
    c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC,
  );
  const byPriority: Record<string, number> = { '0': 0, '1': 0, '2': 0 };
  let oldest: number | null = null;
  const scope = observeScope(c);
  // A tenant's last minute comes from its own rows: a queue's counters mix every tenant (observe.ts).
  const minute =
    scope === null
      ? { submitted: 0, dispatched: 0, completed: 0, failed: 0 }
      : await tenantMinute(dbOf(c.env.DB), scope, o.now - 60_000);
  for (const { stats: s, telemetry: t } of o.queues) {
    for (const [p, n] of Object.entries(s.queued_by_priority))
      byPriority[p] = (byPriority[p] ?? 0) + n;
    if (s.oldest_queued_at !== null)
      oldest = oldest === null ? s.oldest_queued_at : Math.min(oldest, s.oldest_queued_at);
    if (t)
      for (const k of Object.keys(minute) as (keyof typeof minute)[]) minute[k] += t.last_minute[k];
  }
  const jobsByStatus = o.jobsByStatus;
  const done = jobsByStatus.succeeded + jobsByStatus.failed;
  const advice = overallAdvice(o);
  return c.json(
    {
      queue_depth: Object.values(byPriority).reduce((a, b) => a + b, 0),
      queue_depth_by_priority: byPriority,
      workers: o.registeredWorkers,
      live_workers: o.liveWorkers,
      jobs_by_status: jobsByStatus,
      success_rate: done === 0 ? null : jobsByStatus.succeeded / done,
      oldest_queued_age_sec: oldest === null ? null : Math.max(0, (o.now - oldest) / 1000),
      unroutable: unroutableOf(o.queues.map((q) => q.stats)),
      parked_by_concurrency_key: o.queues.reduce(
        (n, q) => n + q.stats.parked_by_concurrency_key,
        0,
      ),
      throughput: {
        window_sec: 60 as const,
        submitted: minute.submitted,
        dispatched: minute.dispatched,
        succeeded: minute.completed,
        failed: minute.failed,
        finished_per_sec: Math.round(((minute.completed + minute.failed) / 60) * 1000) / 1000,
      },
      wait_by_priority: waitQuantiles(o),
      autoscale: { ...advice, since: new Date(advice.since).toISOString() },
      autoscale_by_queue: Object.fromEntries(
        o.queues.flatMap(({ queue, telemetry: t }) =>
          t?.autoscale
            ? [[queue, { ...t.autoscale, since: new Date(t.autoscale.since).toISOString() }]]
            : [],
        ),
      ),
      uptime_sec: Math.floor((o.now - STARTED_AT) / 1000),
      queues: o.queues.map((q) => q.queue),
    },
    200,
  );
});

function unroutableOf(stats: QueueStats[]): { count: number; reasons: Record<string, number> } {
  const reasons: Record<string, number> = {};
  for (const s of stats)
    for (const [r, n] of Object.entries(s.unroutable.reasons)) reasons[r] = (reasons[r] ?? 0) + n;
  return { count: stats.reduce((n, s) => n + s.unroutable.count, 0), reasons };
}

systemRoutes.openapi(queueHead, async (c) => {
  const name = c.req.valid('param').name;
  const stub = schedulerFor(c.env, name);
  // A queue may be shared: a tenant sees its own jobs in it and their figures, the admin all of them.
  const tenant = observeScope(c) ?? undefined;
  const [head, s] = await Promise.all([
    stub.peek(name, c.req.valid('query').limit, tenant),
    stub.stats(name, tenant),
  ]);
  const depth = Object.values(s.queued_by_priority).reduce((a, b) => a + b, 0);
  return c.json(
    {
      queue: name,
      depth,
      depth_by_priority: s.queued_by_priority,
      by_status: s.by_status,
      paused: s.paused,
      concurrency_limit: s.concurrency_limit,
      running: s.workers.running,
      parked_by_concurrency_key: s.parked_by_concurrency_key,
      parked_by_rate_limit: s.parked_by_rate_limit,
      head: head.map((h) => ({
        id: h.id,
        priority: h.priority,
        type: h.type,
        created_at: new Date(h.created_at).toISOString(),
      })),
    },
    200,
  );
});
