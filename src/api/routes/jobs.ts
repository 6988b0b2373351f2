import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { listJobs } from '../../db/read-jobs';
import { readJob } from '../read-job';
import { ErrorBody } from '../../protocol/common';
import {
  Job,
  JobBatchSubmit,
  JobIdParam,
  JobList,
  JobListQuery,
  JobSubmit,
  MAX_BATCH_JOBS,
} from '../../protocol/job';
import { ResultReport } from '../../protocol/dispatch';
import { queueOfJobId } from '../../core/ids';
import { ApiError } from '../errors';
import type { Outcome } from '../../protocol/queue-object';
import { readScope, schedulerFor, type AppEnv } from '../context';
import { jobView } from '../views';
import { submitJobs } from '../submit';
import { TraceHeaders } from '../trace-headers';
import { workerProtocol } from '../middleware/worker-auth';
import { jsonBody, errors } from '../openapi-helpers';
import { SubmitFlags } from '../../protocol/flow-control';

const JobEnvelope = z.object({ job: Job }).openapi('JobEnvelope');
const SubmitAnswer = JobEnvelope.extend(SubmitFlags).openapi('JobSubmitted');
const SubmitHeaders = TraceHeaders.extend({
  'x-idempotency-key': z.string().optional().openapi({
    description:
      'Repeat-safe submission: the same key and body answer 200 with the same job; the same key with another body is 409',
  }),
});

const submit = createRoute({
  method: 'post',
  path: '/jobs',
  tags: ['jobs'],
  summary: 'Submit a job',
  request: { headers: SubmitHeaders, body: jsonBody(JobSubmit) },
  responses: {
    201: { description: 'Accepted', content: { 'application/json': { schema: SubmitAnswer } } },
    200: {
      description:
        'A repeat of an earlier request with the same X-Idempotency-Key, or the job a debounce key or dedup_key names (docs/protocol.md 1.11)',
      content: { 'application/json': { schema: SubmitAnswer } },
    },
    ...errors(400, 403, 409, 413, 415, 429, 503),
  },
});

const submitBatch = createRoute({
  method: 'post',
  path: '/jobs/batch',
  tags: ['jobs'],
  summary: `Submit up to ${MAX_BATCH_JOBS} jobs of one queue: all are accepted or none`,
  request: { headers: SubmitHeaders, body: jsonBody(JobBatchSubmit) },
  responses: {
    201: {
      description: 'All accepted',
      content: {
        'application/json': { schema: z.object({ jobs: z.array(Job), ids: z.array(z.string()) }) },
      },
    },
    200: {
      description: 'A repeat with the same X-Idempotency-Key',
      content: {
        'application/json': { schema: z.object({ jobs: z.array(Job), ids: z.array(z.string()) }) },
      },
    },
    ...errors(400, 403, 409, 413, 415, 429, 503),
  },
});

const get = createRoute({
  method: 'get',
  path: '/jobs/{id}',
  tags: ['jobs'],
  summary: 'Get a job',
  request: { params: JobIdParam },
  responses: {
    200: { description: 'The job', content: { 'application/json': { schema: JobEnvelope } } },
    ...errors(400, 404),
  },
});

const list = createRoute({
  method: 'get',
  path: '/jobs',
  tags: ['jobs'],
  summary: 'List jobs, newest first',
  request: { query: JobListQuery },
  responses: {
    200: { description: 'A page of jobs', content: { 'application/json': { schema: JobList } } },
    ...errors(400),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/jobs/{id}/cancel',
  tags: ['jobs'],
  summary: 'Cancel a job; a running job is killed on its node',
  request: { params: JobIdParam },
  responses: {
    200: { description: 'Cancelled', content: { 'application/json': { schema: JobEnvelope } } },
    ...errors(400, 404, 409),
  },
});

const result = createRoute({
  method: 'post',
  path: '/jobs/{id}/result',
  tags: ['worker protocol'],
  summary: "A worker node reports an attempt's result (Bearer WORKER_TOKEN)",
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { params: JobIdParam, body: jsonBody(ResultReport) },
  responses: {
    200: {
      description: "Recorded; the answer is small because it is on every job's path",
      content: {
        'application/json': {
          schema: z.object({ job_id: z.string(), status: z.string() }).openapi('ResultRecorded'),
        },
      },
    },
    ...errors(400, 401, 403, 404, 409, 415, 503),
  },
});

// Chained, so each route's types reach AppType and the typed client (src/client.ts).
export const jobRoutes = new OpenAPIHono<AppEnv>()
  .openapi(submit, async (c) => {
    const out = await submitJobs(c, [c.req.valid('json')], '');
    return c.json({ job: out.jobs[0], ...(out.flow ? { [out.flow]: true } : {}) }, out.status);
  })
  .openapi(submitBatch, async (c) => {
    const out = await submitJobs(c, c.req.valid('json').jobs, 'jobs');
    return c.json({ jobs: out.jobs, ids: out.jobs.map((j) => j.id) }, out.status);
  })
  .openapi(get, async (c) => {
    const row = await readJob(c.env, dbOf(c.env.DB), readScope(c), c.req.valid('param').id);
    if (!row) throw new ApiError(404, 'job_not_found', 'no such job');
    return c.json({ job: jobView(row) }, 200);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid('query');
    const { rows, total } = await listJobs(dbOf(c.env.DB), readScope(c), q);
    return c.json({ jobs: rows.map(jobView), total, limit: q.limit, offset: q.offset }, 200);
  })
  .openapi(cancel, async (c) => {
    const db = dbOf(c.env.DB);
    const id = c.req.valid('param').id;
    const row = await readJob(c.env, db, readScope(c), id);
    if (!row) throw new ApiError(404, 'job_not_found', 'no such job');
    const outcome = await schedulerFor(c.env, row.queue).cancel(row.queue, id);
    const now = await readJob(c.env, db, null, id);
    if (!outcome.ok)
      throw new ApiError(
        409,
        'job_not_cancellable',
        `the job is ${now?.status ?? row.status} and cannot be cancelled`,
        { status: now?.status ?? row.status },
      );
    return c.json({ job: jobView(now!) }, 200);
  })
  .openapi(result, async (c) => {
    const id = c.req.valid('param').id;
    const queue = queueOfJobId(id);
    const outcome = (await schedulerFor(c.env, queue).reportResult(
      queue,
      id,
      c.req.valid('json'),
    )) as Outcome<{ status: string }>;
    if (!outcome.ok)
      throw new ApiError(outcome.status, outcome.code, outcome.message, outcome.details);
    return c.json({ job_id: id, status: outcome.status }, 200);
  });

export { ErrorBody };
