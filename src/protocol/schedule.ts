import { z } from '@hono/zod-openapi';
import { cronProblem, OVERLAP_POLICIES, timezoneProblem } from '../core/schedule';
import { JobId, Timestamp } from './common';
import { JobSubmit } from './job';

/** The closed set of schedule states: one union here, one CHECK constraint in migrations/0002_schedules.sql. */
export const SCHEDULE_STATUSES = ['active', 'paused'] as const;
export const ScheduleStatus = z.enum(SCHEDULE_STATUSES);
export type ScheduleStatus = z.infer<typeof ScheduleStatus>;

export const OverlapPolicy = z
  .enum(OVERLAP_POLICIES, { error: 'must be "allow" or "forbid"' })
  .openapi({
    description:
      "Kubernetes CronJob's concurrencyPolicy: `forbid` skips a tick while the schedule's previous job is not terminal",
  });

export const ScheduleId = z
  .string()
  .regex(/^sch_[0-9A-HJKMNP-TV-Z]{26}$/, 'a schedule id such as sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q')
  .openapi({ example: 'sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q' });

export const CronExpression = z
  .string()
  .max(256)
  .superRefine((v, ctx) => {
    const problem = cronProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    description:
      'Five fields (minute hour day-of-month month day-of-week), or six with seconds first; @hourly and friends',
    example: '*/5 * * * *',
  });

export const TimeZone = z
  .string()
  .max(64)
  .superRefine((v, ctx) => {
    const problem = timezoneProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ description: 'IANA time zone the cron fields are read in', example: 'Europe/Paris' });

export const ScheduleCreate = z
  .strictObject({
    cron: CronExpression,
    timezone: TimeZone.default('UTC'),
    job: JobSubmit.refine((j) => j.run_at === undefined, {
      message: 'a schedule submits a job at every tick: use delay_sec, not run_at',
      path: ['run_at'],
    })
      .refine((j) => j.depends_on === undefined, {
        message: 'a schedule submits a new job at every tick: it cannot wait for fixed jobs',
        path: ['depends_on'],
      })
      .refine((j) => j.debounce === undefined, {
        message: 'a schedule already spaces its ticks: no debounce',
        path: ['debounce'],
      })
      .refine((j) => j.dedup_key === undefined, {
        message: 'every tick is a new job: no dedup_key',
        path: ['dedup_key'],
      }),
    overlap: OverlapPolicy.default('allow'),
    name: z.string().min(1).max(128).optional(),
  })
  .openapi('ScheduleCreate');
export type ScheduleCreate = z.infer<typeof ScheduleCreate>;

/** Why a tick created no job: the previous job still active (overlap=forbid), or the bucket empty. */
export const SCHEDULE_SKIP_REASONS = ['overlap_forbid', 'rate_limited'] as const;
export const ScheduleSkipReason = z.enum(SCHEDULE_SKIP_REASONS);
export type ScheduleSkipReason = z.infer<typeof ScheduleSkipReason>;

export const Schedule = z
  .object({
    id: ScheduleId,
    tenant: z.string(),
    name: z.string().nullable(),
    cron: z.string(),
    timezone: z.string(),
    job: JobSubmit.openapi({
      description: 'The job submitted at every tick, with its defaults filled in',
    }),
    overlap: OverlapPolicy,
    status: ScheduleStatus,
    next_run_at: Timestamp.openapi({ description: 'The next tick; null while paused' }),
    last_run_at: Timestamp.openapi({
      description: 'The tick (scheduled moment) of the last job this schedule submitted',
    }),
    last_job_id: JobId.nullable(),
    runs: z.number().int().openapi({ description: 'Jobs submitted so far' }),
    skipped_ticks: z.number().int().openapi({
      description:
        "Ticks that created no job: overlap=forbid found the last job active, or the tenant's rate-limit bucket was empty",
    }),
    last_skipped_at: Timestamp.openapi({ description: 'The tick last skipped; null if none was' }),
    last_skip_reason: ScheduleSkipReason.nullable().openapi({
      description: 'Why that tick was skipped',
    }),
    missed_ticks: z.number().int().openapi({
      description:
        'Ticks that went by while the schedule could not fire (only the latest of a run of missed ticks is fired)',
    }),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
  })
  .openapi('Schedule');
export type Schedule = z.infer<typeof Schedule>;

const intParam = (min: number, max: number, dflt: number) =>
  z.coerce.number().int().min(min).max(max).default(dflt);

export const ScheduleListQuery = z.strictObject({
  limit: intParam(1, 500, 50),
  offset: intParam(0, 1_000_000, 0),
  status: ScheduleStatus.optional(),
});
export type ScheduleListQuery = z.infer<typeof ScheduleListQuery>;

export const ScheduleList = z
  .object({
    schedules: z.array(Schedule),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
  })
  .openapi('ScheduleList');

export const ScheduleIdParam = z.object({
  id: ScheduleId.openapi({ param: { name: 'id', in: 'path' } }),
});
