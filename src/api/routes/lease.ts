/**
 * `POST /workers/:id/lease`: a pull node's long poll (docs/protocol.md 2.2a). With wire version 2 it
 * carries the node's finished results; with version 3 its grants of credit to each queue, and the
 * answer says where each queue stands (2.5b).
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { WorkerIdParam, type Lease } from '../../protocol/worker';
import { ApiError } from '../errors';
import { log } from '../../log';
import { LeaseAnswer, LeaseRequest } from '../../protocol/pull';
import type { DispatchedJob } from '../../protocol/dispatch';
import type { LeaseTerms, Outcome } from '../../protocol/queue-object';
import type { QueueStanding, Standing } from '../../protocol/credits';
import { registryQueues } from '../queue-fan-out';
import { applyResults } from '../results-exchange';
import { schedulerFor, type AppEnv } from '../context';
import { workerProtocol } from '../middleware/worker-auth';
import { errors, jsonBody } from '../openapi-helpers';

const lease = createRoute({
  method: 'post',
  path: '/workers/{id}/lease',
  tags: ['worker protocol'],
  summary:
    'A pull node long-polls for jobs: the answer comes as soon as the scheduler assigns it some, or empty after wait_sec',
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { params: WorkerIdParam, body: jsonBody(LeaseRequest) },
  responses: {
    200: {
      description: 'The jobs leased to the node, fenced like a push dispatch (possibly none)',
      content: { 'application/json': { schema: LeaseAnswer } },
    },
    ...errors(400, 401, 403, 404, 409, 415, 503),
  },
});

export const leaseRoutes = new OpenAPIHono<AppEnv>();

/**
 * The long poll fans out to every queue's scheduler, as a heartbeat does (a node's queues are each
 * their own shard); shards that do not know the node answer 404 at once. When one shard hands over
 * jobs, the others are told to stop waiting: each ends its request with whatever it had assigned
 * by then, so nothing assigned is lost; jobs beyond `max_jobs` go back to their queue at no cost.
 */
leaseRoutes.openapi(lease, async (c) => {
  const id = c.req.valid('param').id;
  const body = c.req.valid('json');
  // The node's own queues when it names them: a long poll holds one call per queue it asks, and a
  // Worker invocation has only six connections at once.
  const queues = body.queues ? [...new Set(body.queues)] : await registryQueues(c.env);
  // Wire version 2: the node's finished results first, so their slots are free for this lease.
  const verdicts = body.results?.length
    ? (await applyResults(c.env, id, body.results)).verdicts
    : undefined;
  const request = {
    max_jobs: body.max_jobs,
    wait_ms: Math.round(body.wait_sec * 1000),
    request_id: crypto.randomUUID(),
    prefetch: body.prefetch,
  };
  // Version 3: each queue hears its own grant, and says where it stands.
  const credits = body.credits;
  // One stub per shard for both calls: calls through one stub arrive in order, so an end never
  // overtakes the request it ends.
  const stubs = queues.map((q) => schedulerFor(c.env, q));
  const ending: Promise<void>[] = [];
  let ended = false;
  const endOthers = () => {
    if (ended) return;
    ended = true;
    stubs.forEach((stub, i) =>
      ending.push(stub.endLease(queues[i], id, request.request_id).catch(() => undefined)),
    );
  };
  const outcomes = await Promise.all(
    queues.map(async (q, i) => {
      const o = await (stubs[i] as unknown as LeaseRpc).lease(q, id, {
        ...request,
        ...(credits ? { credit: credits[q] } : {}),
      });
      // Only jobs end the others: a shard that does not know the node (404) answers at once.
      if (o.ok && o.jobs.length > 0) endOthers();
      return o;
    }),
  );
  await Promise.all(ending);
  const answered = outcomes.flatMap((o) => (o.ok ? [o] : []));
  if (answered.length === 0) {
    // Every shard refused. One that knows the node (push mode, draining, max_jobs) says why; else 404.
    const refusals = outcomes.flatMap((o) => (o.ok ? [] : [o]));
    const refusal = refusals.find((o) => o.status !== 404) ?? refusals[0];
    if (!refusal)
      throw new ApiError(
        404,
        'worker_unknown',
        `worker ${id} is not registered (it may have been reaped): register again`,
      );
    throw new ApiError(
      refusal.status,
      refusal.code,
      refusal.message,
      refusal.details,
      refusal.status === 503 ? { 'retry-after': '5' } : undefined,
    );
  }
  const jobs: DispatchedJob[] = answered.flatMap((o) => o.jobs);
  // Each shard counts only its own queue's jobs: the node's capacity bounds the sum.
  const max = body.max_jobs ?? answered[0].capacity;
  if (jobs.length > max) await declineExtra(c.env, id, jobs.slice(max));
  const standing = credits ? standingOf(queues, outcomes) : undefined;
  return c.json(
    {
      jobs: jobs.slice(0, max),
      ...(verdicts ? { results: verdicts } : {}),
      ...(standing ? { standing } : {}),
    },
    200,
  );
});

/** The scheduler's lease RPC, typed by hand: the stub's inferred type of a JSON payload is too deep for tsc. */
interface LeaseRpc {
  lease(
    queue: string,
    workerId: string,
    req: LeaseTerms,
  ): Promise<Outcome<{ jobs: DispatchedJob[]; capacity: number; standing?: QueueStanding }>>;
}

/** Version 3: where each queue that answered stands, for the node's next grants. */
function standingOf(queues: string[], outcomes: Outcome<{ standing?: QueueStanding }>[]): Standing {
  const out: Standing = {};
  outcomes.forEach((o, i) => {
    if (o.ok && o.standing) out[queues[i]] = o.standing;
  });
  return out;
}

async function declineExtra(
  env: AppEnv['Bindings'],
  workerId: string,
  extra: DispatchedJob[],
): Promise<void> {
  const byQueue = new Map<string, Lease[]>();
  for (const j of extra)
    byQueue.set(j.queue, [
      ...(byQueue.get(j.queue) ?? []),
      { job_id: j.job_id, attempt: j.attempt, token: j.token },
    ]);
  await Promise.all(
    [...byQueue].map(([q, leases]) => schedulerFor(env, q).declineLeases(q, workerId, leases)),
  );
  log({ event: 'leases_declined', worker_id: workerId, jobs: extra.length });
}
