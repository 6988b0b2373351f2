import { and, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { queues } from './schema';
import type { Db } from './client';

/**
 * The queue registry (migrations/0001, 0013): which queues the API fans out to, who owns each, and
 * which ones retired. `default` is always there, shared, and never retires.
 */
export const DEFAULT_QUEUE = 'default';

/** The fan-out set: every queue that has not retired, and `default`. */
export async function knownQueues(db: Db): Promise<string[]> {
  const rows = await db.select({ name: queues.name }).from(queues).where(isNull(queues.retiredAt));
  return [...new Set([DEFAULT_QUEUE, ...rows.map((r) => r.name)])].sort();
}

/** Whether a queue was ever named (retired or not): a job id of an unknown queue needs no lookup. */
export async function queueIsKnown(db: Db, name: string): Promise<boolean> {
  const row = await db
    .select({ name: queues.name })
    .from(queues)
    .where(eq(queues.name, name))
    .get();
  return row !== undefined || name === DEFAULT_QUEUE;
}

/**
 * Queues a node registers for: created shared if new (a node is the operator's, not a tenant's),
 * brought back if retired. An owned queue keeps its owner.
 */
export async function recordQueues(db: Db, names: string[], nowMs: number): Promise<void> {
  if (names.length === 0) return;
  await db
    .insert(queues)
    .values(names.map((name) => ({ name, createdAt: nowMs, lastActiveAt: nowMs })))
    .onConflictDoUpdate({
      target: queues.name,
      set: { retiredAt: null, lastActiveAt: nowMs },
      where: sql`${queues.retiredAt} IS NOT NULL`,
    });
}

export type QueueClaim =
  | { ok: true }
  | { ok: false; reason: 'owned_by_other_tenant' }
  | { ok: false; reason: 'limit_reached'; active: number };

/**
 * A tenant names a queue. Its own queue or a shared one is fine; one another tenant created is not.
 * A new queue, or one of its own that retired, is (re)created for it only while the tenant has fewer
 * than `limit` active queues: the count and the insert are one statement, so two creations at once
 * cannot both take the last place.
 */
export async function claimQueue(
  db: Db,
  queue: string,
  tenant: string,
  limit: number,
  nowMs: number,
): Promise<QueueClaim> {
  const seen = await ownerOf(db, queue);
  if (seen && seen.tenant !== null && seen.tenant !== tenant)
    return { ok: false, reason: 'owned_by_other_tenant' };
  // Shared: every tenant may use it, and a retired one comes back with its first job (upsertQueue).
  if (seen && (seen.tenant === null || seen.retiredAt === null)) return { ok: true };
  const taken = await db.all<{ tenant: string }>(sql`
    INSERT INTO queues (name, tenant, created_at, last_active_at)
    SELECT ${queue}, ${tenant}, ${nowMs}, ${nowMs}
    WHERE (SELECT count(*) FROM queues WHERE tenant = ${tenant} AND retired_at IS NULL) < ${limit}
    ON CONFLICT (name) DO UPDATE SET retired_at = NULL, last_active_at = excluded.last_active_at
      WHERE queues.tenant = excluded.tenant
    RETURNING tenant`);
  if (taken[0]?.tenant === tenant) return { ok: true };
  // Nothing written: the limit, or another request created the queue first.
  const now = await ownerOf(db, queue);
  if (now && now.tenant !== null && now.tenant !== tenant)
    return { ok: false, reason: 'owned_by_other_tenant' };
  if (now && now.retiredAt === null) return { ok: true };
  return { ok: false, reason: 'limit_reached', active: await activeCountOf(db, tenant) };
}

/** Who owns a queue (null tenant: shared), and whether it retired; undefined if never named. */
export async function ownerOf(db: Db, queue: string) {
  return db
    .select({ tenant: queues.tenant, retiredAt: queues.retiredAt })
    .from(queues)
    .where(eq(queues.name, queue))
    .get();
}

export async function activeCountOf(db: Db, tenant: string): Promise<number> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(queues)
    .where(and(eq(queues.tenant, tenant), isNull(queues.retiredAt)))
    .get();
  return Number(row?.n ?? 0);
}

/** The cron saw these queues with jobs or nodes: their idle time starts again. */
export async function markBusy(db: Db, names: string[], nowMs: number): Promise<void> {
  // D1 binds at most 100 parameters a statement.
  for (let i = 0; i < names.length; i += 90)
    await db
      .update(queues)
      .set({ lastActiveAt: nowMs })
      .where(inArray(queues.name, names.slice(i, i + 90)));
}

/**
 * Active queues idle since before `cutoff` that no active schedule submits to (a schedule's next
 * tick is work to come), oldest first.
 */
export async function retireCandidates(db: Db, cutoff: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ name: queues.name })
    .from(queues)
    .where(
      and(
        isNull(queues.retiredAt),
        lt(queues.lastActiveAt, cutoff),
        ne(queues.name, DEFAULT_QUEUE),
        sql`NOT EXISTS (SELECT 1 FROM schedules s WHERE s.status = 'active' AND json_extract(s.job, '$.queue') = ${queues.name})`,
      ),
    )
    .orderBy(queues.lastActiveAt)
    .limit(limit);
  return rows.map((r) => r.name);
}

/**
 * Takes a queue out of the fan-out set, unless it was named again since the cron decided (that
 * sets `last_active_at` past `cutoff`): a job submitted meanwhile keeps its queue active.
 */
export async function markRetired(
  db: Db,
  name: string,
  nowMs: number,
  cutoff: number,
): Promise<boolean> {
  const res = await db
    .update(queues)
    .set({ retiredAt: nowMs })
    .where(and(eq(queues.name, name), isNull(queues.retiredAt), lt(queues.lastActiveAt, cutoff)))
    .run();
  return res.meta.changes > 0;
}
