import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { queueOfJobId } from '../../core/ids';
import { dbOf } from '../../db/client';
import { readLogs } from '../../db/job-logs';
import { getJob } from '../../db/read-jobs';
import { ProgressReport } from '../../protocol/dispatch';
import { JobIdParam, TERMINAL_STATUSES } from '../../protocol/job';
import type { Outcome } from '../../protocol/queue-object';
import { ApiError } from '../errors';
import { readScope, schedulerFor, type AppEnv } from '../context';
import { errors, jsonBody } from '../openapi-helpers';
import { workerProtocol } from '../middleware/worker-auth';
import { jobView } from '../views';

const EVENTS_POLL_MS = 500;
const EVENTS_MAX_MS = 15 * 60 * 1000;

const progress = createRoute({
  method: 'post',
  path: '/jobs/{id}/progress',
  tags: ['worker protocol'],
  summary: "A worker node reports a running attempt's progress and log lines (Bearer WORKER_TOKEN)",
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { params: JobIdParam, body: jsonBody(ProgressReport) },
  responses: {
    200: {
      description: 'Recorded',
      content: { 'application/json': { schema: z.object({ logged: z.number().int() }) } },
    },
    ...errors(400, 401, 403, 409, 415, 503),
  },
});

const logs = createRoute({
  method: 'get',
  path: '/jobs/{id}/logs',
  tags: ['jobs'],
  summary: 'Log lines a job reported, oldest first; page with `after`',
  request: {
    params: JobIdParam,
    query: z.strictObject({
      after: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(1000).default(200),
    }),
  },
  responses: {
    200: {
      description: 'Log lines',
      content: {
        'application/json': {
          schema: z.object({
            logs: z.array(
              z.object({
                id: z.number().int(),
                attempt: z.number().int(),
                at: z.string().datetime(),
                line: z.string(),
              }),
            ),
            next_after: z.number().int(),
          }),
        },
      },
    },
    ...errors(400, 401, 404),
  },
});

const events = createRoute({
  method: 'get',
  path: '/jobs/{id}/events',
  tags: ['jobs'],
  summary:
    'Server-sent events: the job (event `job`) on every change of state or progress, then `end` when it finishes',
  request: { params: JobIdParam },
  responses: {
    200: {
      description: 'An event stream',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...errors(400, 401, 404),
  },
});

export const progressRoutes = new OpenAPIHono<AppEnv>()
  .openapi(progress, async (c) => {
    const id = c.req.valid('param').id;
    const queue = queueOfJobId(id);
    const outcome = (await schedulerFor(c.env, queue).reportProgress(
      queue,
      id,
      c.req.valid('json'),
    )) as Outcome<{ logged: number }>;
    if (!outcome.ok)
      throw new ApiError(outcome.status, outcome.code, outcome.message, outcome.details);
    return c.json({ logged: outcome.logged }, 200);
  })
  .openapi(logs, async (c) => {
    const db = dbOf(c.env.DB);
    const id = c.req.valid('param').id;
    if (!(await getJob(db, readScope(c), id)))
      throw new ApiError(404, 'job_not_found', 'no such job');
    const q = c.req.valid('query');
    const rows = await readLogs(db, id, q.after, q.limit);
    return c.json(
      {
        logs: rows.map((r) => ({
          id: r.id,
          attempt: r.attempt,
          at: new Date(r.ts).toISOString(),
          line: r.line,
        })),
        next_after: rows.length ? rows[rows.length - 1].id : q.after,
      },
      200,
    );
  })
  .openapi(events, async (c) => {
    const db = dbOf(c.env.DB);
    const id = c.req.valid('param').id;
    const scope = readScope(c);
    if (!(await getJob(db, scope, id))) throw new ApiError(404, 'job_not_found', 'no such job');
    // D1 is the system of record for reads, so the stream polls it and sends what changed.
    return streamSSE(c, async (stream) => {
      const deadline = Date.now() + EVENTS_MAX_MS;
      let last = '';
      while (!stream.aborted && Date.now() < deadline) {
        const row = await getJob(db, scope, id);
        if (!row) break;
        const job = jobView(row);
        const key = `${job.status}|${job.attempts}|${JSON.stringify(job.progress)}`;
        if (key !== last) {
          last = key;
          await stream.writeSSE({
            event: 'job',
            data: JSON.stringify(job),
            id: String(Date.parse(job.updated_at)),
          });
        }
        if (TERMINAL_STATUSES.includes(job.status)) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: job.status }) });
          break;
        }
        await stream.sleep(EVENTS_POLL_MS);
      }
    }) as never;
  });
