import { cronTicker, overlapDecision, planTick, tickKey } from '../src/core/schedule';
import { newJobId } from '../src/core/ids';
import type { Config, Env } from '../src/env';
import type { Db } from '../src/db/client';
import { claimIdempotencyKey, releaseIdempotencyKey } from '../src/db/idempotency';
import { jobExists, jobStatusOf, type ScheduleRow } from '../src/db/schedules';
import type { JobSubmit } from '../src/protocol/job';
import { log } from '../src/log';
import type { Outcome } from '../src/protocol/queue-object';
import { newJobOf } from '../src/api/new-job';
import type { ScheduleSkipReason } from '../src/protocol/schedule';
import { tenantBucket } from '../src/core/token-bucket';
import { rateBucketOf } from '../src/api/stubs';

/** What firing a tick needs of the ScheduleKeeper (schedules.ts). */
export interface Keeper {
  db: Db;
  env: Env;
  config: Config;
  /** Stores the schedule's new state, then mirrors it to D1. */
  record(row: ScheduleRow): Promise<void>;
}

/** The idempotency row's request hash: a tick key is only ever claimed by the keeper. */
const TICK_HASH = 'schedule-tick';

/**
 * Fires one due schedule: its tick's job is admitted once by a D1 idempotency key derived from
 * (schedule, tick), skipped under `overlap: forbid` or an empty rate bucket, or, when a lost run
 * claimed the tick before, submitted again under the claimed id.
 */
export async function fire(
  k: Keeper,
  row: ScheduleRow,
  now: number,
): Promise<'fired' | 'skipped' | 'replayed' | 'idle'> {
  const plan = planTick(row.nextRunAt!, now, cronTicker(row));
  if (!plan.due) return 'idle'; // unreachable: the due query selected next_run_at <= now
  const base = {
    schedule_id: row.id,
    tenant: row.tenant,
    tick: new Date(plan.tick).toISOString(),
  };
  if (plan.missed > 0)
    log({
      event: 'schedule_ticks_missed',
      ...base,
      missed: plan.missed,
      counted_all: !plan.missedCapped,
    });

  const job = JSON.parse(row.job) as JobSubmit;
  const key = tickKey(row.id, plan.tick);
  let jobId = newJobId(job.queue, now);
  // The claim decides this tick's job id once and for all; only a fresh claim decides on overlap.
  const claim = await claimIdempotencyKey(
    k.db,
    row.tenant,
    key,
    TICK_HASH,
    [jobId],
    now,
    k.config.IDEMPOTENCY_TTL_SEC,
  );
  let replayed = false;
  if (claim.claimed) {
    const previous =
      row.overlap === 'forbid' && row.lastJobId ? await jobStatusOf(k.db, row.lastJobId) : null;
    // A tick creates a job like a submission does: it draws from the tenant's bucket, and one that
    // finds the bucket empty is skipped and says so, rather than queued behind the limit.
    const skip: ScheduleSkipReason | null =
      overlapDecision(row.overlap, previous) === 'skip'
        ? 'overlap_forbid'
        : !(await takeToken(k, row.tenant))
          ? 'rate_limited'
          : null;
    if (skip) {
      await releaseIdempotencyKey(k.db, row.tenant, key, TICK_HASH); // nothing was submitted under it
      await k.record({
        ...row,
        nextRunAt: plan.nextRunAt,
        skippedTicks: row.skippedTicks + 1,
        missedTicks: row.missedTicks + plan.missed,
        lastSkippedAt: plan.tick,
        lastSkipReason: skip,
        updatedAt: now,
      });
      log({
        event: 'schedule_tick_skipped',
        ...base,
        reason: skip,
        previous_job_id: row.lastJobId,
        previous_status: previous,
      });
      return 'skipped';
    }
  } else {
    // This tick was claimed before, by a run whose bookkeeping was lost (a crash, an alarm delivered
    // twice) or whose submit failed. Its job keeps the claimed id, so submitting it again cannot
    // create a second one.
    jobId = claim.jobIds[0];
    replayed = await jobExists(k.db, jobId);
  }
  if (!replayed) {
    // On failure the claim is kept, not released: an RPC that threw may still have stored the job,
    // so the retry must reuse this id (the jobs' primary key then refuses a second copy).
    const outcome = await submit(k, row, job, jobId, now);
    if (!outcome.ok) throw new Error(`submit refused: ${outcome.code}: ${outcome.message}`);
  }
  await k.record({
    ...row,
    nextRunAt: plan.nextRunAt,
    lastRunAt: plan.tick,
    lastJobId: jobId,
    runs: row.runs + (row.lastJobId === jobId ? 0 : 1),
    missedTicks: row.missedTicks + plan.missed,
    updatedAt: now,
  });
  log({
    event: replayed ? 'schedule_tick_replayed' : 'schedule_fired',
    ...base,
    job_id: jobId,
    queue: job.queue,
    missed: plan.missed,
    next_run_at: plan.nextRunAt,
  });
  return replayed ? 'replayed' : 'fired';
}

/** One token from the tenant's RATE_LIMIT_JOBS_PER_MIN bucket, shared with its API keys. */
async function takeToken(k: Keeper, tenant: string): Promise<boolean> {
  const limit = k.config.RATE_LIMIT_JOBS_PER_MIN;
  if (limit === 0) return true;
  return (await rateBucketOf(k.env, tenantBucket(tenant)).take(1, limit)).ok;
}

async function submit(
  k: Keeper,
  row: ScheduleRow,
  job: JobSubmit,
  id: string,
  now: number,
): Promise<Outcome<object>> {
  // The same conversion as POST /jobs: every field the schedule was given reaches its jobs.
  const newJob = newJobOf(job, {
    id,
    tenant: row.tenant,
    now,
    defaultTimeoutSec: k.config.DEFAULT_TIMEOUT_SEC,
  });
  const scheduler = k.env.SCHEDULER.get(k.env.SCHEDULER.idFromName(`queue:${job.queue}`));
  return (await scheduler.submit(job.queue, [newJob])) as Outcome<object>;
}
