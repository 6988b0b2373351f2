import { DurableObject } from 'cloudflare:workers';
import { fire, type Keeper } from './schedule-fire';
import { nextTick, type OverlapPolicy } from '../src/core/schedule';
import { configOf, type Config, type Env } from '../src/env';
import { dbOf, type Db } from '../src/db/client';
import { deleteSchedule, saveSchedule, type ScheduleRow } from '../src/db/schedules';
import type { JobSubmit } from '../src/protocol/job';
import { log } from '../src/log';
import type { Outcome, Refusal } from '../src/protocol/queue-object';

/** A schedule as the API hands it over on create; the keeper fills in the timer fields. */
export interface NewSchedule {
  id: string;
  tenant: string;
  name: string | null;
  cron: string;
  timezone: string;
  job: JobSubmit;
  overlap: OverlapPolicy;
}

export interface TickReport {
  due: number;
  fired: number;
  skipped: number;
  replayed: number;
  failed: number;
}

/** A due schedule whose job could not be submitted is tried again this much later. */
const FIRE_RETRY_MS = 5_000;
/** Due schedules handled at once within one tick (each is a D1 claim and a Scheduler RPC). */
const FIRE_CONCURRENCY = 6;

// `row` is the ScheduleRow as JSON; `status` and `next_run_at` are copies the due query can index.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS schedules (id TEXT PRIMARY KEY, status TEXT NOT NULL, next_run_at INTEGER, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (status, next_run_at);
`;

/**
 * The ScheduleKeeper Durable Object: one instance (`idFromName("schedules")`) owns every recurring
 * schedule and its timer. Its SQLite storage holds the schedules; one alarm is re-armed after every
 * change to the earliest next_run_at among the active ones. It is the single writer of schedules and
 * mirrors each change to D1, where the API reads them.
 *
 * Operations run one at a time (`exclusive`): a pause cannot interleave with a tick that is awaiting
 * a submit. Every tick is idempotent: the job of a tick is admitted by a D1 idempotency key derived
 * from (schedule, tick), so an alarm delivered twice, or racing the cron backstop, creates one job.
 */
export class ScheduleKeeper extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly db: Db;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.db = dbOf(env.DB);
    this.sql.exec(SCHEMA);
  }

  private get config(): Config {
    const parsed = configOf(this.env);
    if (!parsed.ok)
      throw new Error(`config_invalid: ${parsed.problems.map((p) => p.variable).join(', ')}`);
    return parsed.config;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- API

  create(s: NewSchedule, requestId?: string): Promise<Outcome<{ schedule: ScheduleRow }>> {
    return this.exclusive(async () => {
      const now = Date.now();
      const row: ScheduleRow = {
        id: s.id,
        tenant: s.tenant,
        name: s.name,
        cron: s.cron,
        timezone: s.timezone,
        job: JSON.stringify(s.job),
        overlap: s.overlap,
        status: 'active',
        nextRunAt: nextTick(s, now),
        lastRunAt: null,
        lastJobId: null,
        runs: 0,
        skippedTicks: 0,
        missedTicks: 0,
        lastSkippedAt: null,
        lastSkipReason: null,
        createdAt: now,
        updatedAt: now,
      };
      // D1 first: a schedule the API cannot list must not fire either.
      const refused = await this.mirror(row, true);
      if (refused) return refused;
      this.put(row);
      await this.arm(now);
      log({
        event: 'schedule_created',
        schedule_id: row.id,
        tenant: row.tenant,
        cron: row.cron,
        timezone: row.timezone,
        overlap: row.overlap,
        next_run_at: row.nextRunAt,
        request_id: requestId,
      });
      return { ok: true, schedule: row };
    });
  }

  pause(
    tenant: string,
    id: string,
    requestId?: string,
  ): Promise<Outcome<{ schedule: ScheduleRow }>> {
    return this.exclusive(async () => {
      const row = this.row(id, tenant);
      if (!row) return notFound();
      if (row.status === 'paused') return { ok: true, schedule: row };
      const next: ScheduleRow = {
        ...row,
        status: 'paused',
        nextRunAt: null,
        updatedAt: Date.now(),
      };
      const refused = await this.mirror(next, true);
      if (refused) return refused;
      this.put(next);
      await this.arm(next.updatedAt);
      log({ event: 'schedule_paused', schedule_id: id, tenant, request_id: requestId });
      return { ok: true, schedule: next };
    });
  }

  /** Resumes from the first tick after now: ticks that went by while paused are not caught up. */
  resume(
    tenant: string,
    id: string,
    requestId?: string,
  ): Promise<Outcome<{ schedule: ScheduleRow }>> {
    return this.exclusive(async () => {
      const row = this.row(id, tenant);
      if (!row) return notFound();
      if (row.status === 'active') return { ok: true, schedule: row };
      const now = Date.now();
      const next: ScheduleRow = {
        ...row,
        status: 'active',
        nextRunAt: nextTick(row, now),
        updatedAt: now,
      };
      const refused = await this.mirror(next, true);
      if (refused) return refused;
      this.put(next);
      await this.arm(now);
      log({
        event: 'schedule_resumed',
        schedule_id: id,
        tenant,
        next_run_at: next.nextRunAt,
        request_id: requestId,
      });
      return { ok: true, schedule: next };
    });
  }

  remove(
    tenant: string,
    id: string,
    requestId?: string,
  ): Promise<Outcome<{ schedule: ScheduleRow }>> {
    return this.exclusive(async () => {
      const row = this.row(id, tenant);
      if (!row) return notFound();
      try {
        await deleteSchedule(this.db, id);
      } catch (e) {
        return unavailable(e);
      }
      this.sql.exec('DELETE FROM schedules WHERE id = ?', id);
      await this.arm(Date.now());
      log({ event: 'schedule_deleted', schedule_id: id, tenant, request_id: requestId });
      return { ok: true, schedule: row };
    });
  }

  // ---------------------------------------------------------------- timer

  async alarm(): Promise<void> {
    await this.tick();
  }

  /**
   * Fires every active schedule whose next_run_at is at or before `now`, then re-arms the alarm. The
   * alarm and the cron backstop both call it; `now` is a parameter so tests can drive it.
   */
  tick(now = Date.now()): Promise<TickReport> {
    return this.exclusive(async () => {
      const due = this.sql
        .exec<{ row: string }>(
          "SELECT row FROM schedules WHERE status = 'active' AND next_run_at <= ? ORDER BY next_run_at",
          now,
        )
        .toArray()
        .map((r) => JSON.parse(r.row) as ScheduleRow);
      const report: TickReport = { due: due.length, fired: 0, skipped: 0, replayed: 0, failed: 0 };
      let i = 0;
      const lane = async () => {
        while (i < due.length) {
          const row = due[i++];
          try {
            const result = await fire(this.keeper(), row, now);
            if (result !== 'idle') report[result]++;
          } catch (e) {
            report.failed++;
            log({
              event: 'schedule_fire_failed',
              schedule_id: row.id,
              tenant: row.tenant,
              next_run_at: row.nextRunAt,
              error: String(e).slice(0, 300),
              retry_in_ms: FIRE_RETRY_MS,
            });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(FIRE_CONCURRENCY, due.length) }, lane));
      await this.arm(now, FIRE_RETRY_MS);
      return report;
    });
  }

  /** One due schedule: skip it (overlap), or submit its tick's job exactly once. */
  /** What firing a tick needs of this object (schedule-fire.ts). */
  private keeper(): Keeper {
    return { db: this.db, env: this.env, config: this.config, record: (row) => this.record(row) };
  }

  // ---------------------------------------------------------------- storage

  private row(id: string, tenant?: string): ScheduleRow | null {
    const found = this.sql
      .exec<{ row: string }>('SELECT row FROM schedules WHERE id = ?', id)
      .toArray()[0];
    if (!found) return null;
    const row = JSON.parse(found.row) as ScheduleRow;
    return tenant === undefined || row.tenant === tenant ? row : null;
  }

  private put(row: ScheduleRow): void {
    this.sql.exec(
      'INSERT INTO schedules (id, status, next_run_at, row) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, next_run_at = excluded.next_run_at, row = excluded.row',
      row.id,
      row.status,
      row.nextRunAt,
      JSON.stringify(row),
    );
  }

  /**
   * After a tick: the object's storage first (it drives the timer, and the tick is recorded before
   * anything else can fail), then the D1 mirror. A mirror write that fails is repaired by the next
   * write of the same row, which always carries the whole row.
   */
  private async record(row: ScheduleRow): Promise<void> {
    if (!this.row(row.id)) return; // deleted meanwhile
    this.put(row);
    await this.mirror(row, false);
  }

  private async mirror(row: ScheduleRow, strict: boolean): Promise<Refusal | null> {
    try {
      await saveSchedule(this.db, row);
      return null;
    } catch (e) {
      if (strict) return unavailable(e);
      log({ event: 'schedule_mirror_failed', schedule_id: row.id, error: String(e).slice(0, 300) });
      return null;
    }
  }

  /**
   * One alarm at the earliest next_run_at. After a tick, a schedule that is still due (its submit
   * failed) is retried `retryMs` later rather than in a tight loop; after a change through the API a
   * due schedule fires at once.
   */
  private async arm(now: number, retryMs = 0): Promise<void> {
    const next = this.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(next_run_at) AS at FROM schedules WHERE status = 'active'",
      )
      .one().at;
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(next <= now ? now + retryMs : next);
  }
}

function notFound(): Refusal {
  return { ok: false, status: 404, code: 'schedule_not_found', message: 'no such schedule' };
}

function unavailable(e: unknown): Refusal {
  return {
    ok: false,
    status: 503,
    code: 'storage_unavailable',
    message: `could not store the schedule: ${String(e).slice(0, 200)}`,
  };
}
