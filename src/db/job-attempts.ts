import { asc, eq } from 'drizzle-orm';
import type { Db } from './client';
import type { Stmt } from './write-jobs';
import { jobAttempts, type JobAttemptRow } from './schema';

/**
 * The row of an attempt that ended. One row is 10 bound parameters, far under D1's 100. An outbox
 * replay writes the same (job_id, attempt) again: the row D1 already has is kept.
 */
export function recordAttempt(db: Db, row: JobAttemptRow): Stmt {
  return db.insert(jobAttempts).values(row).onConflictDoNothing();
}

/** Every recorded attempt of a job, oldest first. A job has at most max_retries + lease losses + 1. */
export async function readAttempts(db: Db, jobId: string): Promise<JobAttemptRow[]> {
  return db
    .select()
    .from(jobAttempts)
    .where(eq(jobAttempts.jobId, jobId))
    .orderBy(asc(jobAttempts.attempt))
    .limit(1000);
}
