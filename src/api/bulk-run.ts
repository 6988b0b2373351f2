import { configOf, type Env } from '../env';
import { dbOf } from '../db/client';
import { commitPage, nextPage, type BulkRow, type PageJob } from '../db/bulk-actions';
import type { JobRow } from '../db/schema';
import { ulid } from '../core/ids';
import { ACTION_APPLIES_TO, type BulkPageAnswer } from '../protocol/bulk';
import type { NewJob, Outcome } from '../protocol/queue-object';
import { newJobOf } from './new-job';
import { replayBodyOf } from './replay-body';
import { schedulerFor } from './context';
import { rateBucketOf } from './stubs';

/** Jobs per page: one RPC per queue of the page, and D1's 100 bound parameters per statement. */
export const PAGE_SIZE = 100;

export type PageRun =
  | { kind: 'committed'; last: boolean }
  /** Another run of the same page committed first: read the row again. */
  | { kind: 'raced' }
  /** The rate limit's bucket is empty: come back then. */
  | { kind: 'wait'; ms: number };

/**
 * Runs the next page of a bulk action: reads it from D1 after the cursor, hands each queue's part
 * to that queue's object (a replay submits the copies there), and commits the counts with the new
 * cursor (commitPage, guarded by the old one). Safe to run twice: the objects remember what each
 * action did to each job, and a replay's copies have ids derived from the action and the original,
 * so the second run acts on nothing again. An object that fails throws, to be retried, unless
 * `lastTry`, when its jobs are counted failed. `paced`: retries and replays draw from the rate
 * limit bucket the action was accepted under (the background runner; a request spent them first).
 */
export async function runBulkPage(
  env: Env,
  row: BulkRow,
  opts: { lastTry: boolean; paced: boolean },
): Promise<PageRun> {
  const db = dbOf(env.DB);
  const creates = row.action === 'retry' || row.action === 'replay';
  const paced = opts.paced && creates && row.rateLimit > 0 && row.rateKey !== null;
  const size = paced ? Math.min(PAGE_SIZE, row.rateLimit) : PAGE_SIZE;
  const page = await nextPage(db, row, size, row.action === 'replay');
  if (page.length > 0 && paced) {
    const taken = await rateBucketOf(env, row.rateKey!).take(page.length, row.rateLimit);
    if (!taken.ok) return { kind: 'wait', ms: taken.retryAfterSec * 1000 };
  }
  const total: BulkPageAnswer = { done: 0, skipped: 0, failed: 0, problems: [] };
  const byQueue = new Map<string, PageJob[]>();
  for (const j of page) byQueue.set(j.queue, [...(byQueue.get(j.queue) ?? []), j]);
  await Promise.all(
    [...byQueue].map(async ([queue, jobs]) => {
      let answer: BulkPageAnswer;
      try {
        answer = await actOn(env, row, queue, jobs);
      } catch (e) {
        if (!opts.lastTry) throw e;
        const reason = `failed: ${String(e).slice(0, 200)}`;
        answer = { done: 0, skipped: 0, failed: jobs.length, problems: [] };
        answer.problems = jobs.map((j) => ({ job_id: j.id, reason }));
      }
      total.done += answer.done;
      total.skipped += answer.skipped;
      total.failed += answer.failed;
      total.problems.push(...answer.problems);
    }),
  );
  const last = page.length < size;
  const end = page[page.length - 1];
  const committed = await commitPage(db, row, {
    ...total,
    cursorAt: end?.createdAt ?? row.cursorAt,
    cursorId: end?.id ?? row.cursorId,
    last,
    now: Date.now(),
  });
  return committed ? { kind: 'committed', last } : { kind: 'raced' };
}

async function actOn(
  env: Env,
  row: BulkRow,
  queue: string,
  jobs: PageJob[],
): Promise<BulkPageAnswer> {
  const scheduler = schedulerFor(env, queue);
  if (row.action !== 'replay')
    return scheduler.bulkAct(queue, {
      bulk_id: row.id,
      tenant: row.tenant,
      action: row.action,
      ids: jobs.map((j) => j.id),
      priority: row.priority,
      status: (JSON.parse(row.filter) as { status?: JobRow['status'] }).status ?? null,
    });
  // A replay copies finished jobs: D1's row of a finished job is final (docs/protocol.md 1.2).
  const out: BulkPageAnswer = { done: 0, skipped: 0, failed: 0, problems: [] };
  const finished = (jobs as JobRow[]).filter((j) => {
    if (ACTION_APPLIES_TO.replay.includes(j.status) && j.finishedAt !== null) return true;
    out.skipped++;
    out.problems.push({ job_id: j.id, reason: `job is ${j.status}` });
    return false;
  });
  if (finished.length === 0) return out;
  const config = configOf(env);
  const now = Date.now();
  const copies: NewJob[] = await Promise.all(
    finished.map(async (j) =>
      newJobOf(replayBodyOf(j), {
        id: await replayIdOf(row, j),
        tenant: row.tenant,
        now,
        defaultTimeoutSec: config.ok ? config.config.DEFAULT_TIMEOUT_SEC : 300,
        replayOf: j.id,
      }),
    ),
  );
  const outcome = (await scheduler.submit(queue, copies)) as Outcome<{ created: boolean }>;
  if (!outcome.ok) {
    out.failed += finished.length;
    for (const j of finished) out.problems.push({ job_id: j.id, reason: outcome.message });
  } else out.done += finished.length;
  return out;
}

/**
 * The id of an original's copy in this action: the same every time the page runs, so the queue's
 * object answers a second submission with the copy it made (submission.ts `existing`). Its time
 * part is the action's acceptance, its random part a digest of the action and the original.
 */
async function replayIdOf(row: BulkRow, original: JobRow): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new TextEncoder().encode(`${row.id}\u0000${original.id}`),
  );
  return `${original.queue}.${ulid(row.acceptedAt, new Uint8Array(digest).subarray(0, 16))}`;
}
