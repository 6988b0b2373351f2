import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from './client';
import { jobLogs } from './schema';

/** Log lines of a job after `afterId`, oldest first. */
export async function readLogs(db: Db, jobId: string, afterId: number, limit: number) {
  return db
    .select()
    .from(jobLogs)
    .where(and(eq(jobLogs.jobId, jobId), gt(jobLogs.id, afterId)))
    .orderBy(asc(jobLogs.id))
    .limit(limit);
}
