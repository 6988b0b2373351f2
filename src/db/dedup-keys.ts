import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './client';
import { dedupKeys } from './schema';

/**
 * Claims a tenant's `dedup_key` for `jobId` until `expiresAt`, or answers the job a live claim
 * names. D1's primary key admits exactly one winner among concurrent claims; an expired claim is
 * taken over in the same statement, which is what ends a window.
 */
export async function claimDedupKey(
  db: Db,
  tenant: string,
  key: string,
  jobId: string,
  nowMs: number,
  ttlSec: number,
): Promise<{ claimed: true } | { claimed: false; jobId: string }> {
  const res = await db
    .insert(dedupKeys)
    .values({ tenant, key, jobId, expiresAt: nowMs + ttlSec * 1000 })
    .onConflictDoUpdate({
      target: [dedupKeys.tenant, dedupKeys.key],
      set: { jobId: sql`excluded.job_id`, expiresAt: sql`excluded.expires_at` },
      setWhere: sql`${dedupKeys.expiresAt} <= ${nowMs}`,
    })
    .run();
  if (res.meta.changes > 0) return { claimed: true };
  const row = await db
    .select()
    .from(dedupKeys)
    .where(and(eq(dedupKeys.tenant, tenant), eq(dedupKeys.key, key)))
    .get();
  // Pruned between the two statements: claim again.
  if (!row) return claimDedupKey(db, tenant, key, jobId, nowMs, ttlSec);
  return { claimed: false, jobId: row.jobId };
}

/** Gives the key back when the job that claimed it was refused, so the next submission is not deduplicated against nothing. */
export async function releaseDedupKey(
  db: Db,
  tenant: string,
  key: string,
  jobId: string,
): Promise<void> {
  await db
    .delete(dedupKeys)
    .where(and(eq(dedupKeys.tenant, tenant), eq(dedupKeys.key, key), eq(dedupKeys.jobId, jobId)));
}

export async function pruneDedupKeys(db: Db, nowMs: number): Promise<void> {
  await db.delete(dedupKeys).where(sql`${dedupKeys.expiresAt} <= ${nowMs}`);
}
