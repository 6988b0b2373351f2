import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { checkOutboundUrl } from '../../core/url-policy';
import { dbOf } from '../../db/client';
import { recordQueues } from '../../db/queues';
import { registryQueues } from '../queue-fan-out';
import {
  HeartbeatAnswer,
  WorkerHeartbeat,
  WorkerIdParam,
  WorkerRegister,
  WorkerView,
} from '../../protocol/worker';
import { WIRE_PROTOCOL } from '../../protocol/results';
import type { Standing } from '../../protocol/credits';
import type { Outcome } from '../../protocol/queue-object';
import { ApiError } from '../errors';
import { observeScope, schedulerFor, type AppEnv } from '../context';
import { workerProtocol } from '../middleware/worker-auth';
import { registrationScope } from '../node-scope';
import { errors, jsonBody } from '../openapi-helpers';
import { log } from '../../log';
import { queueOfJobId } from '../../core/ids';

const register = createRoute({
  method: 'post',
  path: '/workers/register',
  tags: ['worker protocol'],
  summary:
    'A worker node registers: the URL the scheduler pushes jobs to, or pull mode (it long-polls for them)',
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { body: jsonBody(WorkerRegister) },
  responses: {
    201: {
      description: 'Registered',
      content: {
        'application/json': {
          schema: z.object({
            worker: WorkerView,
            heartbeat_interval_sec: z.number(),
            protocol: z.number().int().openapi({
              description:
                "The wire version to use: the lower of the node's `protocol` (default 1) and the API's",
            }),
          }),
        },
      },
    },
    ...errors(400, 401, 403, 409, 415, 503),
  },
});

const heartbeat = createRoute({
  method: 'post',
  path: '/workers/{id}/heartbeat',
  tags: ['worker protocol'],
  summary:
    'A worker node is alive; the answer may ask it to drain or to kill leases it no longer holds',
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { params: WorkerIdParam, body: jsonBody(WorkerHeartbeat) },
  responses: {
    200: { description: 'Alive', content: { 'application/json': { schema: HeartbeatAnswer } } },
    ...errors(400, 401, 403, 404, 415, 503),
  },
});

const deregister = createRoute({
  method: 'delete',
  path: '/workers/{id}',
  tags: ['worker protocol'],
  summary: 'A worker node leaves; its running jobs go back to the queue',
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { params: WorkerIdParam },
  responses: {
    200: {
      description: 'Deregistered',
      content: { 'application/json': { schema: z.object({ requeued: z.number().int() }) } },
    },
    ...errors(400, 401, 403, 404, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/workers',
  tags: ['workers'],
  summary:
    'Registered worker nodes (admin token); with an API key, only how many live nodes can run its jobs',
  responses: {
    200: {
      description: 'Workers',
      content: {
        'application/json': {
          schema: z.object({
            workers: z.array(WorkerView).optional().openapi({
              description:
                "Every registered node: for the admin only, since nodes' URLs and labels are the operator's infrastructure",
            }),
            live_workers: z.number().int().openapi({
              description:
                "Nodes that heart-beat within WORKER_HEARTBEAT_TIMEOUT_SEC: every one can run any tenant's jobs on the queues it serves",
            }),
          }),
        },
      },
    },
  },
});

export const workerRoutes = new OpenAPIHono<AppEnv>();

workerRoutes.openapi(register, async (c) => {
  const reg = c.req.valid('json');
  const config = c.get('config');
  const key = registrationScope(c.get('node')!, reg);
  // A pull node has no URL (the schema refuses one): the scheduler never connects to it.
  if (reg.mode === 'push') {
    const url = checkOutboundUrl(reg.url!, {
      allowlist: config.WORKER_URL_ALLOWLIST,
      allowPrivate: config.ALLOW_PRIVATE_WORKER_URLS,
    });
    if (!url.ok)
      throw new ApiError(400, 'worker_url_refused', `url: ${url.reason}`, {
        problems: [{ field: 'url', message: url.reason }],
      });
  }
  await recordQueues(dbOf(c.env.DB), reg.queues, Date.now());
  const outcomes = await Promise.all(
    reg.queues.map((q) => schedulerFor(c.env, q).registerWorker(q, reg, key)),
  );
  for (const o of outcomes as Outcome<{ worker: WorkerView }>[])
    if (!o.ok) throw new ApiError(o.status, o.code, o.message, o.details);
  log({
    event: 'worker_registered',
    worker_id: reg.id,
    queues: reg.queues,
    key_id: key?.key_id,
    request_id: c.get('requestId'),
  });
  const views = outcomes.flatMap((o) => (o.ok ? [o.worker] : []));
  return c.json(
    {
      worker: merge(views)[0],
      heartbeat_interval_sec: config.HEARTBEAT_INTERVAL_SEC,
      protocol: Math.min(reg.protocol ?? 1, WIRE_PROTOCOL),
    },
    201,
  );
});

workerRoutes.openapi(heartbeat, async (c) => {
  const id = c.req.valid('param').id;
  const { queues: named, ...hb } = c.req.valid('json');
  // The node's own queues when it names them: liveness then needs no D1 read (issue 15).
  const queues = named ? [...new Set(named)] : await registryQueues(c.env);
  // Each shard hears only the leases of its own queue (the queue is in the job id).
  const { credits, ...beat } = hb;
  const answers = await Promise.all(
    queues.map((q) =>
      schedulerFor(c.env, q).heartbeat(
        q,
        id,
        { ...beat, running: hb.running.filter((l) => queueOfJobId(l.job_id) === q) },
        credits ? (credits[q] ?? 0) : undefined,
      ),
    ),
  );
  const known = answers.flatMap((a) => (a.ok ? [a.answer] : []));
  if (known.length === 0)
    throw new ApiError(
      404,
      'worker_unknown',
      `worker ${id} is not registered (it may have been reaped): register again`,
    );
  const servedQueues = new Set(queues.filter((_, i) => answers[i].ok));
  const kill = [
    ...known.flatMap((a) => a.kill),
    ...hb.running.filter((l) => !servedQueues.has(queueOfJobId(l.job_id))),
  ];
  const draining = known.some((a) => a.drain);
  return c.json(
    {
      status: draining ? ('draining' as const) : ('active' as const),
      drain: draining,
      kill,
      heartbeat_interval_sec: known[0].heartbeat_interval_sec,
      ...(credits
        ? { standing: Object.assign({}, ...known.map((a) => a.standing)) as Standing }
        : {}),
    },
    200,
  );
});

workerRoutes.openapi(deregister, async (c) => {
  const id = c.req.valid('param').id;
  const queues = await registryQueues(c.env);
  const outcomes = await Promise.all(
    queues.map((q) => schedulerFor(c.env, q).deregisterWorker(q, id)),
  );
  const known = outcomes.flatMap((o) => (o.ok ? [o.requeued] : []));
  if (known.length === 0)
    throw new ApiError(404, 'worker_unknown', `worker ${id} is not registered`);
  return c.json({ requeued: known.reduce((s, n) => s + n, 0) }, 200);
});

workerRoutes.openapi(list, async (c) => {
  const workers = await allWorkers(c.env);
  const timeout = c.get('config').WORKER_HEARTBEAT_TIMEOUT_SEC;
  const live = workers.filter((w) => w.heartbeat_age_sec <= timeout).length;
  // Nodes are shared by every tenant: a tenant learns how many can run its jobs, not where they are.
  return c.json(
    observeScope(c) === null ? { workers, live_workers: live } : { live_workers: live },
    200,
  );
});

/** A node serving several queues is registered with each queue's shard; merge its views. */
export function merge(views: WorkerView[]): WorkerView[] {
  const byId = new Map<string, WorkerView>();
  for (const v of views) {
    const seen = byId.get(v.id);
    if (!seen) byId.set(v.id, { ...v });
    else {
      seen.running += v.running;
      if (v.heartbeat_age_sec < seen.heartbeat_age_sec)
        Object.assign(seen, {
          last_heartbeat_at: v.last_heartbeat_at,
          heartbeat_age_sec: v.heartbeat_age_sec,
        });
      if (v.status === 'draining') seen.status = 'draining';
    }
  }
  return [...byId.values()];
}

export async function allWorkers(env: AppEnv['Bindings']): Promise<WorkerView[]> {
  const queues = await registryQueues(env);
  const lists = await Promise.all(queues.map((q) => schedulerFor(env, q).listWorkers(q)));
  return merge(lists.flat());
}
