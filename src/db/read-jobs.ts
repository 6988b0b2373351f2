import { and, count, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client';
import { jobs, type JobRow } from './schema';
import type { JobListQuery } from '../protocol/job';

/** `tenant` null means every tenant (the admin's view). */
const ofTenant = (tenant: string | null) => (tenant === null ? undefined : eq(jobs.tenant, tenant));

export async function getJob(
  db: Db,
  tenant: string | null,
  id: string,
): Promise<JobRow | undefined> {
  return db
    .select()
    .from(jobs)
    .where(and(ofTenant(tenant), eq(jobs.id, id)))
    .get();
}

export async function listJobs(
  db: Db,
  tenant: string | null,
  q: JobListQuery,
): Promise<{ rows: JobRow[]; total: number }> {
  const conds: (SQL | undefined)[] = [ofTenant(tenant)];
  if (q.status) conds.push(eq(jobs.status, q.status));
  if (q.priority !== undefined) conds.push(eq(jobs.priority, q.priority));
  if (q.type) conds.push(eq(jobs.type, q.type));
  if (q.queue) conds.push(eq(jobs.queue, q.queue));
  const where = and(...conds);
  const [rows, totals] = await db.batch([
    db
      .select()
      .from(jobs)
      .where(where)
      .orderBy(desc(jobs.createdAt), desc(jobs.id))
      .limit(q.limit)
      .offset(q.offset),
    db.select({ n: count() }).from(jobs).where(where),
  ]);
  return { rows, total: totals[0]?.n ?? 0 };
}

export async function countByStatus(
  db: Db,
  tenant: string | null,
): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: jobs.status, n: count() })
    .from(jobs)
    .where(ofTenant(tenant))
    .groupBy(jobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export async function getJobsByIds(
  db: Db,
  tenant: string | null,
  ids: string[],
): Promise<JobRow[]> {
  if (ids.length === 0) return [];
  const out: JobRow[] = [];
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    out.push(
      ...(await db
        .select()
        .from(jobs)
        .where(and(ofTenant(tenant), sql`${jobs.id} IN ${chunk}`))),
    );
  }
  return out;
}

export type DependencyRow = { tenant: string; status: JobRow['status'] };

/** Tenant and status of the given jobs, keyed by id: what the scheduler needs to judge a dependency. */
export async function dependencyRows(db: Db, ids: string[]): Promise<Map<string, DependencyRow>> {
  const out = new Map<string, DependencyRow>();
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    const rows = await db
      .select({ id: jobs.id, tenant: jobs.tenant, status: jobs.status })
      .from(jobs)
      .where(sql`${jobs.id} IN ${chunk}`);
    for (const r of rows) out.set(r.id, { tenant: r.tenant, status: r.status });
  }
  return out;
}
