import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { countMatching, getBulk, insertBulk, type BulkRow } from '../../db/bulk-actions';
import { ulid } from '../../core/ids';
import { BulkAction, BulkActionRequest, BulkIdParam } from '../../protocol/bulk';
import { ApiError } from '../errors';
import { readScope, type AppEnv } from '../context';
import { errors, jsonBody } from '../openapi-helpers';
import { bucketKeyOf, spendJobTokens } from '../middleware/rate-limit';
import { PAGE_SIZE, runBulkPage } from '../bulk-run';
import { bulkRunnerOf } from '../stubs';

const BulkEnvelope = z.object({ bulk: BulkAction }).openapi('BulkEnvelope');

const start = createRoute({
  method: 'post',
  path: '/jobs/bulk',
  tags: ['jobs'],
  summary:
    "Cancel, retry, replay or re-prioritise every job of the caller's tenant matching a filter",
  description:
    `Matches the tenant's jobs created up to now. Up to ${PAGE_SIZE} matches are acted on within the ` +
    'request (200, status `completed`); more run in the background (202, status `running`), with ' +
    'progress at `GET /jobs/bulk/:id` (the Location header). `retry` runs a failed or cancelled job ' +
    'again under its own id; `replay` submits a copy of a finished job (replay_of).',
  request: { body: jsonBody(BulkActionRequest) },
  responses: {
    200: {
      description: 'Done within the request',
      content: { 'application/json': { schema: BulkEnvelope } },
    },
    202: {
      description: 'Accepted: running in the background',
      content: { 'application/json': { schema: BulkEnvelope } },
    },
    ...errors(400, 401, 415, 429, 503),
  },
});

const get = createRoute({
  method: 'get',
  path: '/jobs/bulk/{id}',
  tags: ['jobs'],
  summary: 'A bulk action and its progress',
  request: { params: BulkIdParam },
  responses: {
    200: { description: 'The action', content: { 'application/json': { schema: BulkEnvelope } } },
    ...errors(400, 401, 404),
  },
});

export const bulkRoutes = new OpenAPIHono<AppEnv>()
  .openapi(start, async (c) => {
    const body = c.req.valid('json');
    const db = dbOf(c.env.DB);
    const tenant = c.get('tenant');
    const now = Date.now();
    const matched = await countMatching(db, tenant, body.filter, now);
    const inline = matched <= PAGE_SIZE;
    const creates = body.action === 'retry' || body.action === 'replay';
    // Retries and replays make jobs run, like submissions: a small set pays now, all or nothing; a
    // large one is paced in the background by the same bucket (bulk-run.ts).
    if (inline && creates)
      await spendJobTokens(
        c,
        matched,
        `${body.action === 'retry' ? 'retrying' : 'replaying'} ${matched} jobs`,
      );
    const row: BulkRow = {
      id: `bk_${ulid(now)}`,
      tenant,
      action: body.action,
      filter: JSON.stringify(body.filter),
      priority: body.priority ?? null,
      status: 'running',
      matched,
      done: 0,
      skipped: 0,
      failed: 0,
      problems: '[]',
      acceptedAt: now,
      cursorAt: -1,
      cursorId: '',
      rateKey: bucketKeyOf(c),
      rateLimit: c.get('config').RATE_LIMIT_JOBS_PER_MIN,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      error: null,
    };
    await insertBulk(db, row);
    if (!inline) {
      await bulkRunnerOf(c.env, row.id).start(row.id);
      c.header('Location', `/jobs/bulk/${row.id}`);
      return c.json({ bulk: bulkView(row) }, 202);
    }
    for (let current = row; current.status === 'running';) {
      const run = await runBulkPage(c.env, current, { lastTry: true, paced: false });
      if (run.kind === 'wait') break; // not paced here; kept for the type
      current = (await getBulk(db, tenant, row.id))!;
    }
    return c.json({ bulk: bulkView((await getBulk(db, tenant, row.id))!) }, 200);
  })
  .openapi(get, async (c) => {
    const row = await getBulk(dbOf(c.env.DB), readScope(c), c.req.valid('param').id);
    if (!row) throw new ApiError(404, 'bulk_action_not_found', 'no such bulk action');
    return c.json({ bulk: bulkView(row) }, 200);
  });

const iso = (ms: number) => new Date(ms).toISOString();

function bulkView(r: BulkRow): BulkAction {
  return {
    id: r.id,
    tenant: r.tenant,
    action: r.action,
    filter: JSON.parse(r.filter),
    priority: (r.priority ?? null) as BulkAction['priority'],
    status: r.status,
    matched: r.matched,
    done: r.done,
    skipped: r.skipped,
    failed: r.failed,
    problems: JSON.parse(r.problems),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
    finished_at: r.finishedAt === null ? null : iso(r.finishedAt),
    error: r.error,
  };
}
