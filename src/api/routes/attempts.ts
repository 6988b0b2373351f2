import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { readAttempts } from '../../db/job-attempts';
import { getJob } from '../../db/read-jobs';
import type { JobAttemptRow } from '../../db/schema';
import { JobAttemptList, type JobAttempt } from '../../protocol/attempt';
import { JobIdParam } from '../../protocol/job';
import { ApiError } from '../errors';
import { readScope, type AppEnv } from '../context';
import { errors } from '../openapi-helpers';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function attemptView(r: JobAttemptRow): JobAttempt {
  return {
    attempt: r.attempt,
    worker_id: r.workerId,
    executor: r.executor,
    started_at: iso(r.startedAt),
    finished_at: new Date(r.finishedAt).toISOString(),
    exit_code: r.exitCode,
    error: r.error,
    timed_out: r.timedOut,
    reason: r.reason,
  };
}

const list = createRoute({
  method: 'get',
  path: '/jobs/{id}/attempts',
  tags: ['jobs'],
  summary:
    'Every attempt of a job that has ended, oldest first: node, executor, times, exit code, error and why it ended',
  description:
    'An attempt appears once it ends (the running one is the job itself). Written by the scheduler ' +
    'with the transition that ended it, so it may trail `GET /jobs/{id}` by a moment.',
  request: { params: JobIdParam },
  responses: {
    200: {
      description: 'The attempts',
      content: { 'application/json': { schema: JobAttemptList } },
    },
    ...errors(400, 401, 404),
  },
});

/** `GET /jobs/:id/attempts`: scoped like `GET /jobs/:id` (another tenant's job is a 404). */
export const attemptRoutes = new OpenAPIHono<AppEnv>().openapi(list, async (c) => {
  const db = dbOf(c.env.DB);
  const id = c.req.valid('param').id;
  if (!(await getJob(db, readScope(c), id)))
    throw new ApiError(404, 'job_not_found', 'no such job');
  const rows = await readAttempts(db, id);
  return c.json({ attempts: rows.map(attemptView) }, 200);
});
