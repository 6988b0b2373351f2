import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { knownQueues } from '../../db/queues';
import { countByStatus } from '../../db/read-jobs';
import { QueueName } from '../../protocol/common';
import { JOB_STATUSES } from '../../protocol/job';
import { schedulerFor, type AppEnv } from '../context';
import { errors } from '../openapi-helpers';
import { ApiError } from '../errors';
import { allWorkers } from './workers';

/** When this isolate started: what `uptime_sec` measures (a Worker has no single process). */
const STARTED_AT = Date.now();

const health = createRoute({
  method: 'get',
  path: '/health',
  tags: ['operations'],
  summary: 'Liveness: 200 whenever the Worker answers',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
});

const ready = createRoute({
  method: 'get',
  path: '/ready',
  tags: ['operations'],
  summary: 'Readiness: 503 until at least one live worker node is registered',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: z.object({ status: z.literal('ready'), live_workers: z.number().int() }) } } },
    ...errors(503),
  },
});

const StatsBody = z
  .object({
    queue_depth: z.number().int(),
    queue_depth_by_priority: z.record(z.string(), z.number().int()),
    workers: z.number().int(),
    live_workers: z.number().int(),
    jobs_by_status: z.record(z.string(), z.number().int()),
    success_rate: z.number().nullable().openapi({ description: 'succeeded / (succeeded + failed), null before any job finished' }),
    oldest_queued_age_sec: z.number().nullable(),
    uptime_sec: z.number(),
    queues: z.array(z.string()),
  })
  .openapi('Stats');

const stats = createRoute({
  method: 'get',
  path: '/stats',
  tags: ['operations'],
  summary: 'Queue depth, workers, jobs by status, success rate, uptime',
  responses: { 200: { description: 'Stats', content: { 'application/json': { schema: StatsBody } } } },
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
            head: z.array(z.object({ id: z.string(), priority: z.number().int(), type: z.string(), created_at: z.string() })),
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
  const live = (await allWorkers(c.env)).filter((w) => w.heartbeat_age_sec <= c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC);
  if (live.length === 0) {
    throw new ApiError(503, 'not_ready', 'no live worker node is registered yet');
  }
  return c.json({ status: 'ready' as const, live_workers: live.length }, 200);
});

systemRoutes.openapi(stats, async (c) => {
  const db = dbOf(c.env.DB);
  const queues = await knownQueues(db);
  const [byStatus, shardStats, workers] = await Promise.all([
    countByStatus(db, c.get('tenant')),
    Promise.all(queues.map((q) => schedulerFor(c.env, q).stats(q))),
    allWorkers(c.env),
  ]);
  const byPriority: Record<string, number> = { '0': 0, '1': 0, '2': 0 };
  let oldest: number | null = null;
  for (const s of shardStats) {
    for (const [p, n] of Object.entries(s.queued_by_priority)) byPriority[p] = (byPriority[p] ?? 0) + n;
    if (s.oldest_queued_at !== null) oldest = oldest === null ? s.oldest_queued_at : Math.min(oldest, s.oldest_queued_at);
  }
  const jobsByStatus = Object.fromEntries(JOB_STATUSES.map((s) => [s, byStatus[s] ?? 0]));
  const done = jobsByStatus.succeeded + jobsByStatus.failed;
  const now = Date.now();
  const timeout = c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC;
  return c.json(
    {
      queue_depth: Object.values(byPriority).reduce((a, b) => a + b, 0),
      queue_depth_by_priority: byPriority,
      workers: workers.length,
      live_workers: workers.filter((w) => w.heartbeat_age_sec <= timeout).length,
      jobs_by_status: jobsByStatus,
      success_rate: done === 0 ? null : jobsByStatus.succeeded / done,
      oldest_queued_age_sec: oldest === null ? null : Math.max(0, (now - oldest) / 1000),
      uptime_sec: Math.floor((now - STARTED_AT) / 1000),
      queues,
    },
    200,
  );
});

systemRoutes.openapi(queueHead, async (c) => {
  const name = c.req.valid('param').name;
  const stub = schedulerFor(c.env, name);
  const [head, s] = await Promise.all([stub.peek(name, c.req.valid('query').limit), stub.stats(name)]);
  const depth = Object.values(s.queued_by_priority).reduce((a, b) => a + b, 0);
  return c.json(
    {
      queue: name,
      depth,
      depth_by_priority: s.queued_by_priority,
      by_status: s.by_status,
      head: head.map((h) => ({ id: h.id, priority: h.priority, type: h.type, created_at: new Date(h.created_at).toISOString() })),
    },
    200,
  );
});
