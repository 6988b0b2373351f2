import { eq, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from './client';
import { jobLogs, jobs, queues, JOB_ROWS_PER_INSERT, type JobRow } from './schema';

export type Stmt = BatchItem<'sqlite'>;

/** Multi-row inserts kept under D1's 100 bound parameters per statement. */
export function insertJobs(db: Db, rows: JobRow[]): Stmt[] {
  const out: Stmt[] = [];
  for (let i = 0; i < rows.length; i += JOB_ROWS_PER_INSERT)
    // A replay of the outbox may insert again what D1 already has: keep the row D1 holds.
    out.push(
      db
        .insert(jobs)
        .values(rows.slice(i, i + JOB_ROWS_PER_INSERT))
        .onConflictDoNothing(),
    );
  return out;
}

/** Log lines of a running attempt, 20 rows (80 bound parameters) per statement. */
export function appendLogs(
  db: Db,
  jobId: string,
  attempt: number,
  ts: number,
  lines: string[],
): Stmt[] {
  const out: Stmt[] = [];
  for (let i = 0; i < lines.length; i += 20)
    out.push(
      db
        .insert(jobLogs)
        .values(lines.slice(i, i + 20).map((line) => ({ jobId, attempt, ts, line }))),
    );
  return out;
}

/**
 * The queue has work: recorded (shared if new) and, if it had retired, brought back into the
 * fan-out set. `last_active_at` moving past the cron's cutoff also stops a retirement in flight.
 */
export function upsertQueue(db: Db, name: string, nowMs: number): Stmt {
  return db
    .insert(queues)
    .values({ name, createdAt: nowMs, lastActiveAt: nowMs })
    .onConflictDoUpdate({ target: queues.name, set: { retiredAt: null, lastActiveAt: nowMs } });
}

export type JobPatch = Partial<Omit<JobRow, 'id' | 'tenant' | 'queue' | 'createdAt'>> & {
  updatedAt: number;
};

export function updateJob(db: Db, id: string, patch: JobPatch): Stmt {
  return db.update(jobs).set(patch).where(eq(jobs.id, id));
}

/**
 * Undoes a submission D1 may or may not have taken. The object no longer writes it (its commit is
 * the acceptance, docs/protocol.md 1.2), but an outbox an older version left may still hold one,
 * which the coalescing of src/db/coalesce.ts must keep in its place; its tests build them here.
 */
export function deleteJobs(db: Db, ids: string[]): Stmt {
  return db.delete(jobs).where(inArray(jobs.id, ids));
}

/** Used when the scheduler rebuilds from D1: every job D1 thinks is still active in a queue. */
export function activeJobsOfQueue(db: Db, queue: string, limit: number) {
  return db
    .select()
    .from(jobs)
    .where(
      sql`${jobs.queue} = ${queue} AND ${jobs.status} IN ('waiting', 'scheduled', 'queued', 'running', 'retrying')`,
    )
    .limit(limit);
}
