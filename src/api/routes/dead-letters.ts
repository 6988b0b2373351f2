import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { listDeadLetters } from '../../db/dead-letters';
import { getJob, getJobsByIds } from '../../db/read-jobs';
import type { JobRow } from '../../db/schema';
import { JobId, JobType, QueueName } from '../../protocol/common';
import { Job, JobIdParam, JobList, TERMINAL_STATUSES, type JobSubmit } from '../../protocol/job';
import { ApiError } from '../errors';
import { readScope, type AppEnv } from '../context';
import { errors, jsonBody } from '../openapi-helpers';
import { submitJobs } from '../submit';
import { spendJobTokens } from '../middleware/rate-limit';
import { jobView } from '../views';
import { TraceHeaders } from '../trace-headers';
import { replayBodyOf } from '../replay-body';

const DeadLetterQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  queue: QueueName.optional(),
  type: JobType.optional(),
});

const list = createRoute({
  method: 'get',
  path: '/dead-letters',
  tags: ['jobs'],
  summary: 'Failed jobs (retries exhausted or a permanent failure), newest first',
  request: { query: DeadLetterQuery },
  responses: {
    200: {
      description: 'A page of failed jobs',
      content: { 'application/json': { schema: JobList } },
    },
    ...errors(400, 401),
  },
});

const replayOne = createRoute({
  method: 'post',
  path: '/jobs/{id}/replay',
  tags: ['jobs'],
  summary: 'Submit a finished job again as a new job that links to it (replay_of)',
  request: { params: JobIdParam, headers: TraceHeaders },
  responses: {
    201: {
      description: 'The new job',
      content: { 'application/json': { schema: z.object({ job: Job }) } },
    },
    ...errors(400, 401, 403, 404, 409, 429),
  },
});

const replayBulk = createRoute({
  method: 'post',
  path: '/dead-letters/replay',
  tags: ['jobs'],
  summary:
    'Replay failed jobs in bulk: the given ids, or the newest failed jobs matching queue and type',
  request: {
    headers: TraceHeaders,
    body: jsonBody(
      z.strictObject({
        ids: z.array(JobId).min(1).max(100).optional(),
        queue: QueueName.optional(),
        type: JobType.optional(),
        limit: z.number().int().min(1).max(100).default(100),
      }),
    ),
  },
  responses: {
    201: {
      description: 'The new jobs, in the order of the originals',
      content: { 'application/json': { schema: z.object({ jobs: z.array(Job) }) } },
    },
    ...errors(400, 401, 403, 404, 409, 415, 429),
  },
});

export const deadLetterRoutes = new OpenAPIHono<AppEnv>()
  .openapi(list, async (c) => {
    const q = c.req.valid('query');
    const { rows, total } = await listDeadLetters(dbOf(c.env.DB), readScope(c), q);
    return c.json({ jobs: rows.map(jobView), total, limit: q.limit, offset: q.offset }, 200);
  })
  .openapi(replayOne, async (c) => {
    const row = await getJob(dbOf(c.env.DB), readScope(c), c.req.valid('param').id);
    if (!row) throw new ApiError(404, 'job_not_found', 'no such job');
    const [job] = await replay(c, [row]);
    return c.json({ job }, 201);
  })
  .openapi(replayBulk, async (c) => {
    const body = c.req.valid('json');
    const db = dbOf(c.env.DB);
    let rows: JobRow[];
    if (body.ids) {
      rows = await getJobsByIds(db, readScope(c), body.ids);
      const found = new Set(rows.map((r) => r.id));
      const missing = body.ids.filter((id) => !found.has(id));
      if (missing.length)
        throw new ApiError(404, 'job_not_found', `no such job: ${missing.slice(0, 5).join(', ')}`, {
          missing,
        });
      const byId = new Map(rows.map((r) => [r.id, r]));
      rows = body.ids.map((id) => byId.get(id)!);
    } else {
      rows = (
        await listDeadLetters(db, readScope(c), {
          limit: body.limit,
          offset: 0,
          queue: body.queue,
          type: body.type,
        })
      ).rows;
    }
    return c.json({ jobs: await replay(c, rows) }, 201);
  });

/** New jobs with the originals' definition, their tenant, and a link back; one submission per queue. */
async function replay(c: Parameters<typeof submitJobs>[0], rows: JobRow[]): Promise<Job[]> {
  const active = rows.find((r) => !TERMINAL_STATUSES.includes(r.status));
  if (active)
    throw new ApiError(
      409,
      'job_not_finished',
      `job ${active.id} is ${active.status}: only finished jobs can be replayed`,
      { status: active.status },
    );
  // A replay creates jobs like a submission does, so it draws from the same bucket, all or nothing.
  await spendJobTokens(
    c,
    rows.length,
    rows.length === 1 ? 'replaying this job' : `replaying ${rows.length} jobs`,
  );
  const out = new Map<string, Job>();
  const groups = new Map<string, JobRow[]>();
  for (const r of rows)
    groups.set(`${r.queue}\u0000${r.tenant}`, [
      ...(groups.get(`${r.queue}\u0000${r.tenant}`) ?? []),
      r,
    ]);
  for (const group of groups.values()) {
    const bodies: JobSubmit[] = group.map(replayBodyOf);
    const { jobs } = await submitJobs(c, bodies, 'jobs', {
      tenant: group[0].tenant,
      replayOf: group.map((r) => r.id),
    });
    jobs.forEach((j, i) => out.set(group[i].id, j));
  }
  return rows.map((r) => out.get(r.id)!);
}
