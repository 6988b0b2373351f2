import { and, asc, count, eq, gt, lt, lte, or, type SQL } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { Db } from './client';
import { jobs, type JobRow } from './schema';
import type { BulkActionName, BulkFilter } from '../protocol/bulk';

/** Mirrors migrations/0017_bulk_actions.sql; times are epoch ms. */
export const bulkActions = sqliteTable('bulk_actions', {
  id: text('id').primaryKey(),
  tenant: text('tenant').notNull(),
  action: text('action').$type<BulkActionName>().notNull(),
  /** JSON of the request's BulkFilter, as given. */
  filter: text('filter').notNull(),
  priority: integer('priority'),
  status: text('status').$type<'running' | 'completed' | 'failed'>().notNull(),
  matched: integer('matched').notNull(),
  done: integer('done').notNull().default(0),
  skipped: integer('skipped').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  /** JSON array of { job_id, reason }, at most MAX_PROBLEMS. */
  problems: text('problems').notNull().default('[]'),
  acceptedAt: integer('accepted_at').notNull(),
  cursorAt: integer('cursor_at').notNull().default(-1),
  cursorId: text('cursor_id').notNull().default(''),
  /** The rate-limit bucket that retries and replays draw from, and its limit then (0 = off). */
  rateKey: text('rate_key'),
  rateLimit: integer('rate_limit').notNull().default(0),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  finishedAt: integer('finished_at'),
  error: text('error'),
});
export type BulkRow = typeof bulkActions.$inferSelect;

export const MAX_PROBLEMS = 20;

/** The filter as conditions on the tenant's jobs, bounded by the moment the action was accepted. */
function matching(tenant: string, f: BulkFilter, acceptedAt: number): SQL {
  const conds: (SQL | undefined)[] = [eq(jobs.tenant, tenant), lte(jobs.createdAt, acceptedAt)];
  if (f.queue !== undefined) conds.push(eq(jobs.queue, f.queue));
  if (f.status !== undefined) conds.push(eq(jobs.status, f.status));
  if (f.type !== undefined) conds.push(eq(jobs.type, f.type));
  if (f.priority !== undefined) conds.push(eq(jobs.priority, f.priority));
  if (f.created_after !== undefined) conds.push(gt(jobs.createdAt, Date.parse(f.created_after)));
  if (f.created_before !== undefined) conds.push(lt(jobs.createdAt, Date.parse(f.created_before)));
  return and(...conds)!;
}

export async function countMatching(
  db: Db,
  tenant: string,
  f: BulkFilter,
  acceptedAt: number,
): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(jobs)
    .where(matching(tenant, f, acceptedAt));
  return row?.n ?? 0;
}

export type PageJob = Pick<JobRow, 'id' | 'queue' | 'createdAt'> & Partial<JobRow>;

/**
 * The next page after the row's cursor, in (created_at, id) order: a keyset, so a page is found by
 * the index however far the action has come, and a job is never reached twice. `full` reads whole
 * rows (a replay copies them); otherwise only what routing needs.
 */
export async function nextPage(
  db: Db,
  row: BulkRow,
  size: number,
  full: boolean,
): Promise<PageJob[]> {
  const where = and(
    matching(row.tenant, JSON.parse(row.filter) as BulkFilter, row.acceptedAt),
    or(
      gt(jobs.createdAt, row.cursorAt),
      and(eq(jobs.createdAt, row.cursorAt), gt(jobs.id, row.cursorId)),
    ),
  );
  const order = [asc(jobs.createdAt), asc(jobs.id)];
  if (full)
    return db
      .select()
      .from(jobs)
      .where(where)
      .orderBy(...order)
      .limit(size);
  return db
    .select({ id: jobs.id, queue: jobs.queue, createdAt: jobs.createdAt })
    .from(jobs)
    .where(where)
    .orderBy(...order)
    .limit(size);
}

export async function getBulk(db: Db, tenant: string | null, id: string) {
  return db
    .select()
    .from(bulkActions)
    .where(
      tenant === null
        ? eq(bulkActions.id, id)
        : and(eq(bulkActions.id, id), eq(bulkActions.tenant, tenant)),
    )
    .get();
}

export async function insertBulk(db: Db, row: typeof bulkActions.$inferInsert): Promise<void> {
  await db.insert(bulkActions).values(row);
}

/**
 * A page's counts and the cursor after it, in one statement that holds only if the cursor is still
 * where the page started: of two runs of the same page, one commits and the other changes nothing.
 */
export async function commitPage(
  db: Db,
  row: BulkRow,
  next: {
    done: number;
    skipped: number;
    failed: number;
    problems: { job_id: string; reason: string }[];
    cursorAt: number;
    cursorId: string;
    last: boolean;
    now: number;
  },
): Promise<boolean> {
  const problems = [...(JSON.parse(row.problems) as unknown[]), ...next.problems].slice(
    0,
    MAX_PROBLEMS,
  );
  const res = await db
    .update(bulkActions)
    .set({
      done: row.done + next.done,
      skipped: row.skipped + next.skipped,
      failed: row.failed + next.failed,
      problems: JSON.stringify(problems),
      cursorAt: next.cursorAt,
      cursorId: next.cursorId,
      updatedAt: next.now,
      ...(next.last ? { status: 'completed' as const, finishedAt: next.now } : {}),
    })
    .where(
      and(
        eq(bulkActions.id, row.id),
        eq(bulkActions.status, 'running'),
        eq(bulkActions.cursorAt, row.cursorAt),
        eq(bulkActions.cursorId, row.cursorId),
      ),
    )
    .run();
  return res.meta.changes > 0;
}

/** Gives up on an action that kept failing: what it did stays counted, the rest is not done. */
export async function failBulk(db: Db, id: string, error: string, now: number): Promise<void> {
  await db
    .update(bulkActions)
    .set({ status: 'failed', error: error.slice(0, 500), updatedAt: now, finishedAt: now })
    .where(and(eq(bulkActions.id, id), eq(bulkActions.status, 'running')));
}
