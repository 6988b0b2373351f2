import { and, count, desc, eq, sql, type SQL } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { Db } from './client';
import { jobs } from './schema';
import type { JobStatus } from '../protocol/job';
import type { ScheduleListQuery, ScheduleSkipReason, ScheduleStatus } from '../protocol/schedule';
import type { OverlapPolicy } from '../core/schedule';

/** Mirrors migrations/0002_schedules.sql; the CHECK constraints live in the SQL. Times are epoch ms. */
export const schedules = sqliteTable('schedules', {
  id: text('id').primaryKey(),
  tenant: text('tenant').notNull(),
  name: text('name'),
  cron: text('cron').notNull(),
  timezone: text('timezone').notNull(),
  /** The JobSubmit body, defaults filled in, as JSON. */
  job: text('job').notNull(),
  overlap: text('overlap').$type<OverlapPolicy>().notNull(),
  status: text('status').$type<ScheduleStatus>().notNull(),
  nextRunAt: integer('next_run_at'),
  lastRunAt: integer('last_run_at'),
  lastJobId: text('last_job_id'),
  runs: integer('runs').notNull().default(0),
  skippedTicks: integer('skipped_ticks').notNull().default(0),
  missedTicks: integer('missed_ticks').notNull().default(0),
  lastSkippedAt: integer('last_skipped_at'),
  lastSkipReason: text('last_skip_reason').$type<ScheduleSkipReason>(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
export type ScheduleRow = typeof schedules.$inferSelect;

export async function getSchedule(
  db: Db,
  tenant: string,
  id: string,
): Promise<ScheduleRow | undefined> {
  return db
    .select()
    .from(schedules)
    .where(and(eq(schedules.tenant, tenant), eq(schedules.id, id)))
    .get();
}

export async function listSchedules(
  db: Db,
  tenant: string,
  q: ScheduleListQuery,
): Promise<{ rows: ScheduleRow[]; total: number }> {
  const conds: SQL[] = [eq(schedules.tenant, tenant)];
  if (q.status) conds.push(eq(schedules.status, q.status));
  const where = and(...conds);
  const [rows, totals] = await db.batch([
    db
      .select()
      .from(schedules)
      .where(where)
      .orderBy(desc(schedules.createdAt), desc(schedules.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(schedules).where(where),
  ]);
  return { rows, total: totals[0]?.n ?? 0 };
}

/** Writes the whole row: a mirror write that failed once is repaired by the next one. */
export async function saveSchedule(db: Db, row: ScheduleRow): Promise<void> {
  const { id: _id, ...rest } = row;
  await db
    .insert(schedules)
    .values(row)
    .onConflictDoUpdate({ target: schedules.id, set: rest })
    .run();
}

export async function deleteSchedule(db: Db, id: string): Promise<void> {
  await db.delete(schedules).where(eq(schedules.id, id)).run();
}

/** The status of a schedule's previous job, for overlap=forbid; null when D1 has no such job. */
export async function jobStatusOf(db: Db, jobId: string): Promise<JobStatus | null> {
  const row = await db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, jobId)).get();
  return row?.status ?? null;
}

/** Jobs of a schedule's tick key that D1 already holds (a tick whose key was claimed before a crash). */
export async function jobExists(db: Db, jobId: string): Promise<boolean> {
  const row = await db
    .select({ one: sql<number>`1` })
    .from(jobs)
    .where(eq(jobs.id, jobId))
    .get();
  return row !== undefined;
}
