import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { Job, JobIdParam } from '../../protocol/job';
import { JobEdit } from '../../protocol/flow-control';
import { readJob } from '../read-job';
import { ApiError } from '../errors';
import { readScope, schedulerFor, type AppEnv } from '../context';
import { jobView } from '../views';
import { jsonBody, errors } from '../openapi-helpers';
import { spendJobTokens } from '../middleware/rate-limit';

const edit = createRoute({
  method: 'patch',
  path: '/jobs/{id}',
  tags: ['jobs'],
  summary: 'Change the priority or due time of a job that has not started',
  description:
    'For a waiting, scheduled or queued job: `priority`, and `run_at` or `delay_sec` (a later time makes a queued job `scheduled` again; a past one queues a scheduled job now). A job that started or ended is 409 with its status (docs/protocol.md 1.11).',
  request: { params: JobIdParam, body: jsonBody(JobEdit) },
  responses: {
    200: {
      description: 'The job as edited',
      content: { 'application/json': { schema: z.object({ job: Job }) } },
    },
    ...errors(400, 404, 409, 415, 429),
  },
});

// Chained, so the route's types reach AppType and the typed client (src/client.ts).
export const jobEditRoutes = new OpenAPIHono<AppEnv>().openapi(edit, async (c) => {
  // Rate limited like a submission of one job: an edit is as much work for the queue's object.
  await spendJobTokens(c, 1, 'this edit');
  const db = dbOf(c.env.DB);
  const id = c.req.valid('param').id;
  const body = c.req.valid('json');
  const row = await readJob(c.env, db, readScope(c), id);
  if (!row) throw new ApiError(404, 'job_not_found', 'no such job');
  const now = Date.now();
  const runAt =
    body.run_at !== undefined
      ? Date.parse(body.run_at)
      : body.delay_sec !== undefined
        ? now + body.delay_sec * 1000
        : undefined;
  const outcome = await schedulerFor(c.env, row.queue).edit(row.queue, id, {
    ...(body.priority !== undefined ? { priority: body.priority } : {}),
    ...(runAt !== undefined ? { runAt } : {}),
  });
  if (!outcome.ok) {
    const status = outcome.status ?? row.status;
    throw new ApiError(
      409,
      'job_not_editable',
      `the job is ${status}: only a job that has not started can be edited`,
      { status },
    );
  }
  const edited = await readJob(c.env, db, null, id);
  return c.json({ job: jobView(edited!) }, 200);
});
