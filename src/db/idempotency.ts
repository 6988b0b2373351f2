import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './client';
import { idempotencyKeys } from './schema';

export type Claim = { claimed: true } | { claimed: false; jobIds: string[]; requestHash: string };

/**
 * Claims `(tenant, key)` for a request. D1's primary key makes concurrent claims race-free: exactly one
 * request inserts (or takes over an expired row); the others read what the winner stored.
 */
export async function claimIdempotencyKey(
  db: Db,
  tenant: string,
  key: string,
  requestHash: string,
  jobIds: string[],
  nowMs: number,
  ttlSec: number,
): Promise<Claim> {
  const res = await db
    .insert(idempotencyKeys)
    .values({
      tenant,
      key,
      jobIds: JSON.stringify(jobIds),
      requestHash,
      expiresAt: nowMs + ttlSec * 1000,
    })
    .onConflictDoUpdate({
      target: [idempotencyKeys.tenant, idempotencyKeys.key],
      set: {
        jobIds: sql`excluded.job_ids`,
        requestHash: sql`excluded.request_hash`,
        expiresAt: sql`excluded.expires_at`,
      },
      setWhere: sql`${idempotencyKeys.expiresAt} <= ${nowMs}`,
    })
    .run();
  if (res.meta.changes > 0) return { claimed: true };
  const row = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenant, tenant), eq(idempotencyKeys.key, key)))
    .get();
  if (!row) return claimIdempotencyKey(db, tenant, key, requestHash, jobIds, nowMs, ttlSec);
  return { claimed: false, jobIds: JSON.parse(row.jobIds), requestHash: row.requestHash };
}

/** Gives a key back when the request that claimed it could not store its jobs, so a retry can succeed. */
export async function releaseIdempotencyKey(
  db: Db,
  tenant: string,
  key: string,
  requestHash: string,
): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.tenant, tenant),
        eq(idempotencyKeys.key, key),
        eq(idempotencyKeys.requestHash, requestHash),
      ),
    );
}

export async function pruneIdempotencyKeys(db: Db, nowMs: number): Promise<void> {
  await db.delete(idempotencyKeys).where(sql`${idempotencyKeys.expiresAt} <= ${nowMs}`);
}
