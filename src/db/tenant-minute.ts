import { and, eq, gte, or, sql } from 'drizzle-orm';
import type { Db } from './client';
import { jobs } from './schema';

export interface MinuteCounts {
  submitted: number;
  dispatched: number;
  completed: number;
  failed: number;
}

/**
 * One tenant's jobs over the last window, from D1: its view of /stats throughput. A queue's own
 * counters (the Scheduler object's telemetry) mix every tenant that uses it, so a tenant's figures
 * come from its rows instead: created, started (the latest attempt only: a row keeps one start),
 * succeeded and failed since `sinceMs`.
 */
export async function tenantMinute(db: Db, tenant: string, sinceMs: number): Promise<MinuteCounts> {
  const n = (cond: ReturnType<typeof sql>) =>
    sql<number>`coalesce(sum(case when ${cond} then 1 else 0 end), 0)`;
  const row = await db
    .select({
      submitted: n(sql`${jobs.createdAt} >= ${sinceMs}`),
      dispatched: n(sql`${jobs.startedAt} >= ${sinceMs}`),
      completed: n(sql`${jobs.status} = 'succeeded' and ${jobs.finishedAt} >= ${sinceMs}`),
      failed: n(sql`${jobs.status} = 'failed' and ${jobs.finishedAt} >= ${sinceMs}`),
    })
    .from(jobs)
    .where(
      and(
        eq(jobs.tenant, tenant),
        or(
          gte(jobs.createdAt, sinceMs),
          gte(jobs.startedAt, sinceMs),
          gte(jobs.finishedAt, sinceMs),
        ),
      ),
    )
    .get();
  return {
    submitted: Number(row?.submitted ?? 0),
    dispatched: Number(row?.dispatched ?? 0),
    completed: Number(row?.completed ?? 0),
    failed: Number(row?.failed ?? 0),
  };
}
