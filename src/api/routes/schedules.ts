import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dbOf } from '../../db/client';
import { getSchedule, listSchedules, type ScheduleRow } from '../../db/schedules';
import { ulid } from '../../core/ids';
import { MAX_PAYLOAD_BYTES, type JobSubmit } from '../../protocol/job';
import {
  Schedule,
  ScheduleCreate,
  ScheduleIdParam,
  ScheduleList,
  ScheduleListQuery,
} from '../../protocol/schedule';
import { scheduleKeeperOf } from '../stubs';
import type { Outcome } from '../../protocol/queue-object';
import { ApiError } from '../errors';
import { withCheckedCallbacks } from '../new-job';
import { claimQueueFor } from '../queue-claim';
import type { AppEnv } from '../context';
import { errors, jsonBody } from '../openapi-helpers';

const ScheduleEnvelope = z.object({ schedule: Schedule }).openapi('ScheduleEnvelope');
const encoder = new TextEncoder();
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A schedule row as clients see it: times as RFC 3339, the job as JSON. */
export function scheduleView(r: ScheduleRow): Schedule {
  return {
    id: r.id,
    tenant: r.tenant,
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    job: JSON.parse(r.job) as JobSubmit,
    overlap: r.overlap,
    status: r.status,
    next_run_at: iso(r.nextRunAt),
    last_run_at: iso(r.lastRunAt),
    last_job_id: r.lastJobId,
    runs: r.runs,
    skipped_ticks: r.skippedTicks,
    last_skipped_at: iso(r.lastSkippedAt ?? null),
    last_skip_reason: r.lastSkipReason ?? null,
    missed_ticks: r.missedTicks,
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
  };
}

function unwrap(outcome: Outcome<{ schedule: ScheduleRow }>): Schedule {
  if (!outcome.ok)
    throw new ApiError(outcome.status, outcome.code, outcome.message, outcome.details);
  return scheduleView(outcome.schedule);
}

const create = createRoute({
  method: 'post',
  path: '/schedules',
  tags: ['schedules'],
  summary: 'Create a recurring schedule: every cron tick submits one job',
  request: { body: jsonBody(ScheduleCreate) },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: ScheduleEnvelope } } },
    ...errors(400, 403, 409, 413, 415, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/schedules',
  tags: ['schedules'],
  summary: "List the tenant's schedules, newest first",
  request: { query: ScheduleListQuery },
  responses: {
    200: {
      description: 'A page of schedules',
      content: { 'application/json': { schema: ScheduleList } },
    },
    ...errors(400),
  },
});

const get = createRoute({
  method: 'get',
  path: '/schedules/{id}',
  tags: ['schedules'],
  summary: 'Get a schedule',
  request: { params: ScheduleIdParam },
  responses: {
    200: {
      description: 'The schedule',
      content: { 'application/json': { schema: ScheduleEnvelope } },
    },
    ...errors(400, 404),
  },
});

const action = (verb: 'pause' | 'resume', summary: string) =>
  createRoute({
    method: 'post',
    path: `/schedules/{id}/${verb}`,
    tags: ['schedules'],
    summary,
    request: { params: ScheduleIdParam },
    responses: {
      200: {
        description: 'The schedule',
        content: { 'application/json': { schema: ScheduleEnvelope } },
      },
      // Resuming may bring back a retired queue: 409 queue_limit_reached.
      ...errors(400, 404, ...(verb === 'resume' ? [403, 409] : []), 503),
    },
  });
const pause = action(
  'pause',
  'Pause a schedule: no tick fires until it is resumed (pausing a paused schedule changes nothing)',
);
const resume = action(
  'resume',
  'Resume a schedule from its next tick after now; ticks that went by while paused are not caught up',
);

const remove = createRoute({
  method: 'delete',
  path: '/schedules/{id}',
  tags: ['schedules'],
  summary: 'Delete a schedule; jobs it already submitted are not touched',
  request: { params: ScheduleIdParam },
  responses: {
    200: {
      description: 'Deleted: the schedule as it was',
      content: { 'application/json': { schema: ScheduleEnvelope } },
    },
    ...errors(400, 404, 503),
  },
});

export const scheduleRoutes = new OpenAPIHono<AppEnv>();

scheduleRoutes.openapi(create, async (c) => {
  const body = c.req.valid('json');
  // An upload nothing refers to is deleted after a day (src/db/blobs.ts): a recurring job cannot count on it.
  if (body.job.payload_blob !== undefined)
    throw new ApiError(
      400,
      'validation_failed',
      'job.payload_blob: a schedule carries its payload inline',
      { problems: [{ field: 'job.payload_blob', message: 'not allowed in a schedule' }] },
    );
  const bytes = encoder.encode(JSON.stringify(body.job.payload)).length;
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new ApiError(
      413,
      'payload_too_large',
      `job.payload: ${bytes} bytes serialised, the limit is ${MAX_PAYLOAD_BYTES}`,
      { problems: [{ field: 'job.payload', message: `at most ${MAX_PAYLOAD_BYTES} bytes` }] },
    );
  }
  await claimQueueFor(c, body.job.queue, 'job.queue');
  const outcome = await scheduleKeeperOf(c.env).create(
    {
      id: `sch_${ulid(Date.now())}`,
      tenant: c.get('tenant'),
      name: body.name ?? null,
      cron: body.cron.trim(),
      timezone: body.timezone,
      // Checked and made canonical as POST /jobs does, once, rather than failing at every tick.
      job: withCheckedCallbacks(body.job, (name) => `job.${name}`, c.get('config')),
      overlap: body.overlap,
    },
    c.get('requestId'),
  );
  return c.json({ schedule: unwrap(outcome) }, 201);
});

scheduleRoutes.openapi(list, async (c) => {
  const q = c.req.valid('query');
  const { rows, total } = await listSchedules(dbOf(c.env.DB), c.get('tenant'), q);
  return c.json(
    { schedules: rows.map(scheduleView), total, limit: q.limit, offset: q.offset },
    200,
  );
});

scheduleRoutes.openapi(get, async (c) => {
  const row = await getSchedule(dbOf(c.env.DB), c.get('tenant'), c.req.valid('param').id);
  if (!row) throw new ApiError(404, 'schedule_not_found', 'no such schedule');
  return c.json({ schedule: scheduleView(row) }, 200);
});

scheduleRoutes.openapi(pause, async (c) => {
  const outcome = await scheduleKeeperOf(c.env).pause(
    c.get('tenant'),
    c.req.valid('param').id,
    c.get('requestId'),
  );
  return c.json({ schedule: unwrap(outcome) }, 200);
});

scheduleRoutes.openapi(resume, async (c) => {
  // A paused schedule's queue may have retired: its next tick brings it back, which counts against
  // MAX_QUEUES_PER_TENANT like any creation (docs/protocol.md 1.5c).
  const row = await getSchedule(dbOf(c.env.DB), c.get('tenant'), c.req.valid('param').id);
  if (row) await claimQueueFor(c, (JSON.parse(row.job) as JobSubmit).queue, 'job.queue');
  const outcome = await scheduleKeeperOf(c.env).resume(
    c.get('tenant'),
    c.req.valid('param').id,
    c.get('requestId'),
  );
  return c.json({ schedule: unwrap(outcome) }, 200);
});

scheduleRoutes.openapi(remove, async (c) => {
  const outcome = await scheduleKeeperOf(c.env).remove(
    c.get('tenant'),
    c.req.valid('param').id,
    c.get('requestId'),
  );
  return c.json({ schedule: unwrap(outcome) }, 200);
});
