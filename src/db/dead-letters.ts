import { and, count, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { jobs, type JobRow } from './schema';

export interface DeadLetterQuery {
  limit: number;
  offset: number;
  queue?: string;
  type?: string;
}

/** Failed jobs (retries exhausted, or a permanent failure), newest first. `tenant` null: every tenant. */
export async function listDeadLetters(
  db: Db,
  tenant: string | null,
  q: DeadLetterQuery,
): Promise<{ rows: JobRow[]; total: number }> {
  const conds: (SQL | undefined)[] = [eq(jobs.status, 'failed')];
  if (tenant !== null) conds.push(eq(jobs.tenant, tenant));
  if (q.queue) conds.push(eq(jobs.queue, q.queue));
  if (q.type) conds.push(eq(jobs.type, q.type));
  const where = and(...conds);
  const [rows, totals] = await db.batch([
    db
      .select()
      .from(jobs)
      .where(where)
      .orderBy(desc(jobs.finishedAt), desc(jobs.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(jobs).where(where),
  ]);
  return { rows, total: totals[0]?.n ?? 0 };
}

/**
 * Deletes up to `batch` finished jobs that ended before `beforeMs`; returns how many went. The cron
 * trigger calls it until a batch comes back short, so one run never holds D1 for long.
 */
export async function pruneFinishedJobs(db: Db, beforeMs: number, batch: number): Promise<number> {
  const res = await db
    .delete(jobs)
    .where(
      sql`${jobs.id} IN (SELECT id FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < ${beforeMs} LIMIT ${batch})`,
    )
    .run();
  return res.meta.changes;
}
