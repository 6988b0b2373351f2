import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { checkOutboundUrl } from '../../core/url-policy';
import { dbOf } from '../../db/client';
import { knownQueues, recordQueues } from '../../db/queues';
import { HeartbeatAnswer, WorkerHeartbeat, WorkerIdParam, WorkerRegister, WorkerView } from '../../protocol/worker';
import { ApiError } from '../errors';
import { schedulerFor, type AppEnv } from '../context';
import { workerAuth } from '../middleware/worker-auth';
import { errors, jsonBody } from '../openapi-helpers';
import { log } from '../../log';
import { queueOfJobId } from '../../core/ids';

const register = createRoute({
  method: 'post',
  path: '/workers/register',
  tags: ['worker protocol'],
  summary: 'A worker node registers the URL the scheduler pushes jobs to',
  security: [{ workerToken: [] }],
  middleware: [workerAuth()] as const,
  request: { body: jsonBody(WorkerRegister) },
  responses: {
    201: { description: 'Registered', content: { 'application/json': { schema: z.object({ worker: WorkerView, heartbeat_interval_sec: z.number() }) } } },
    ...errors(400, 401, 415),
  },
});

const heartbeat = createRoute({
  method: 'post',
  path: '/workers/{id}/heartbeat',
  tags: ['worker protocol'],
  summary: 'A worker node is alive; the answer may ask it to drain or to kill leases it no longer holds',
  security: [{ workerToken: [] }],
  middleware: [workerAuth()] as const,
  request: { params: WorkerIdParam, body: jsonBody(WorkerHeartbeat) },
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: HeartbeatAnswer } } }, ...errors(400, 401, 404, 415) },
});

const deregister = createRoute({
  method: 'delete',
  path: '/workers/{id}',
  tags: ['worker protocol'],
  summary: 'A worker node leaves; its running jobs go back to the queue',
  security: [{ workerToken: [] }],
  middleware: [workerAuth()] as const,
  request: { params: WorkerIdParam },
  responses: { 200: { description: 'Deregistered', content: { 'application/json': { schema: z.object({ requeued: z.number().int() }) } } }, ...errors(400, 401, 404) },
});

const list = createRoute({
  method: 'get',
  path: '/workers',
  tags: ['workers'],
  summary: 'Registered worker nodes',
  responses: { 200: { description: 'Workers', content: { 'application/json': { schema: z.object({ workers: z.array(WorkerView) }) } } } },
});

export const workerRoutes = new OpenAPIHono<AppEnv>();

workerRoutes.openapi(register, async (c) => {
  const reg = c.req.valid('json');
  const config = c.get('config');
  const url = checkOutboundUrl(reg.url, { allowlist: config.WORKER_URL_ALLOWLIST, allowPrivate: config.ALLOW_PRIVATE_WORKER_URLS });
  if (!url.ok) throw new ApiError(400, 'worker_url_refused', `url: ${url.reason}`, { problems: [{ field: 'url', message: url.reason }] });
  await recordQueues(dbOf(c.env.DB), reg.queues, Date.now());
  const views = await Promise.all(reg.queues.map((q) => schedulerFor(c.env, q).registerWorker(q, reg)));
  log({ event: 'worker_registered', worker_id: reg.id, queues: reg.queues, request_id: c.get('requestId') });
  return c.json({ worker: merge(views)[0], heartbeat_interval_sec: config.HEARTBEAT_INTERVAL_SEC }, 201);
});

workerRoutes.openapi(heartbeat, async (c) => {
  const id = c.req.valid('param').id;
  const hb = c.req.valid('json');
  const queues = await knownQueues(dbOf(c.env.DB));
  // Each shard hears only the leases of its own queue (the queue is in the job id).
  const answers = await Promise.all(
    queues.map((q) => schedulerFor(c.env, q).heartbeat(q, id, { ...hb, running: hb.running.filter((l) => queueOfJobId(l.job_id) === q) })),
  );
  const known = answers.flatMap((a) => (a.ok ? [a.answer] : []));
  if (known.length === 0) throw new ApiError(404, 'worker_unknown', `worker ${id} is not registered (it may have been reaped): register again`);
  const servedQueues = new Set(queues.filter((_, i) => answers[i].ok));
  const kill = [...known.flatMap((a) => a.kill), ...hb.running.filter((l) => !servedQueues.has(queueOfJobId(l.job_id)))];
  const draining = known.some((a) => a.drain);
  return c.json({ status: draining ? ('draining' as const) : ('active' as const), drain: draining, kill, heartbeat_interval_sec: known[0].heartbeat_interval_sec }, 200);
});

workerRoutes.openapi(deregister, async (c) => {
  const id = c.req.valid('param').id;
  const queues = await knownQueues(dbOf(c.env.DB));
  const outcomes = await Promise.all(queues.map((q) => schedulerFor(c.env, q).deregisterWorker(q, id)));
  const known = outcomes.flatMap((o) => (o.ok ? [o.requeued] : []));
  if (known.length === 0) throw new ApiError(404, 'worker_unknown', `worker ${id} is not registered`);
  return c.json({ requeued: known.reduce((s, n) => s + n, 0) }, 200);
});

workerRoutes.openapi(list, async (c) => {
  return c.json({ workers: await allWorkers(c.env) }, 200);
});

/** A node serving several queues is registered with each queue's shard; merge its views. */
export function merge(views: WorkerView[]): WorkerView[] {
  const byId = new Map<string, WorkerView>();
  for (const v of views) {
    const seen = byId.get(v.id);
    if (!seen) byId.set(v.id, { ...v });
    else {
      seen.running += v.running;
      if (v.heartbeat_age_sec < seen.heartbeat_age_sec) Object.assign(seen, { last_heartbeat_at: v.last_heartbeat_at, heartbeat_age_sec: v.heartbeat_age_sec });
      if (v.status === 'draining') seen.status = 'draining';
    }
  }
  return [...byId.values()];
}

export async function allWorkers(env: AppEnv['Bindings']): Promise<WorkerView[]> {
  const queues = await knownQueues(dbOf(env.DB));
  const lists = await Promise.all(queues.map((q) => schedulerFor(env, q).listWorkers(q)));
  return merge(lists.flat());
}
