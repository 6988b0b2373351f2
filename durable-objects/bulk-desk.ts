// One page of a bulk action (POST /jobs/bulk) in this queue: cancel, retry or re-prioritise jobs.
import type { Stmt } from '../src/db/write-jobs';
import { getJobsByIds } from '../src/db/read-jobs';
import type { JobRow } from '../src/db/schema';
import { activeJobOf } from '../src/db/job-rows';
import type { JobStatus } from '../src/protocol/job';
import { ACTION_APPLIES_TO, type BulkPageAnswer, type BulkPageRequest } from '../src/protocol/bulk';
import { reopen } from '../src/core/job-state';
import { ACTIVE_AT } from './retirement';
import { dependency, lookUpDependencies } from './submission';
import type { QueueShell } from './queue-shell';

/** How long the object remembers what a bulk action did to each job: longer than any action runs. */
const MARK_TTL_MS = 86_400_000;

type Verdict = 'done' | `skipped:${string}`;

/**
 * Acts on one page of a bulk action's jobs of this queue, in one synchronous turn after the reads,
 * and remembers each job's verdict under the action's id (`bulk_marks`) in that same turn: the page
 * run again (its runner died before recording it) answers the same verdicts without acting twice,
 * so a retry never re-runs a job twice and the counts stay exact.
 */
export async function bulkAct(
  s: QueueShell,
  queue: string,
  req: BulkPageRequest,
): Promise<BulkPageAnswer> {
  s.bind(queue);
  ensureMarks(s);
  // A retry rebuilds finished jobs from their D1 rows: once what this object wrote there has landed.
  let rows = new Map<string, JobRow>();
  let looked = new Map<string, { tenant: string; status: JobStatus }>();
  if (req.action === 'retry') {
    await s.outbox.landed({ first: 0, last: Number.MAX_SAFE_INTEGER }, 5000);
    rows = new Map((await getJobsByIds(s.db, req.tenant, req.ids)).map((r) => [r.id, r]));
    looked = await lookUpDependencies(
      s,
      [...rows.values()].map((r) => ({ id: r.id, depends_on: dependsOn(r) })),
    );
  }
  // From here on one synchronous turn.
  const now = Date.now();
  const stmts: Stmt[] = [];
  const verdicts = new Map<string, Verdict>();
  const fresh: string[] = [];
  for (const id of req.ids) {
    const marked = markOf(s, req.bulk_id, id);
    if (marked) verdicts.set(id, marked);
    else fresh.push(id);
  }
  const decide = (id: string, v: Verdict) => verdicts.set(id, v);
  const eligible = (status: JobStatus): Verdict | null => {
    if (!ACTION_APPLIES_TO[req.action].includes(status)) return `skipped:job is ${status}`;
    if (req.status !== null && status !== req.status) return `skipped:job is now ${status}`;
    return null;
  };
  const priorityIds: string[] = [];
  let seq = s.store.nextSeq();
  const firstSeq = seq;
  for (const id of fresh) {
    const active = s.store.jobById(id);
    if (active && active.tenant !== req.tenant) {
      decide(id, 'skipped:not found');
      continue;
    }
    if (req.action === 'retry') {
      const row = rows.get(id);
      if (active) decide(id, `skipped:job is ${active.status}`);
      else if (!row) decide(id, 'skipped:not found');
      else {
        const status = s.deps.outcome(id)?.status ?? row.status;
        const blocked = eligible(status) ?? blockedBy(s, row, looked);
        if (blocked) decide(id, blocked);
        else {
          stmts.push(...retry(s, row, status, seq++, now));
          decide(id, 'done');
        }
      }
      continue;
    }
    const blocked = active
      ? eligible(active.status)
      : (`skipped:job is ${s.deps.outcome(id)?.status ?? 'finished'}` as const);
    if (blocked) decide(id, blocked);
    else if (req.action === 'cancel') {
      stmts.push(...s.apply(s.engine.cancel(id, now)!.effects, now));
      decide(id, 'done');
    } else priorityIds.push(id);
  }
  if (priorityIds.length) {
    const { effects } = s.engine.reprioritise(priorityIds, req.priority!, now);
    stmts.push(...s.apply(effects, now));
    for (const id of priorityIds) decide(id, 'done');
  }
  if (seq > firstSeq) {
    s.store.setMeta('seq', String(seq - 1));
    s.store.setMeta(ACTIVE_AT, String(now));
  }
  for (const id of fresh) mark(s, req.bulk_id, id, verdicts.get(id)!, now);
  s.ctx.storage.sql.exec('DELETE FROM bulk_marks WHERE at < ?', now - MARK_TTL_MS);
  // Logged in the outbox in this same turn, so the D1 writes commit with the changes they record;
  // answered once D1 has them (or after the usual wait), so a list read next shows them.
  const persisted = s.persist(stmts);
  s.kick();
  await s.armAlarm();
  await persisted;
  return answerOf(req.ids, verdicts);
}

/** A failed or cancelled job back in its queue under its own id: attempts go on, the budget is new. */
function retry(s: QueueShell, r: JobRow, was: JobStatus, seq: number, now: number): Stmt[] {
  const job = activeJobOf(r, seq, reopen(was), null);
  s.store.insertJob(job);
  // Its old outcome is forgotten, so dependencies and the cron judge it by its new life.
  s.deps.unrecord(r.id);
  s.engine.accept(job);
  return [
    s.project(r.id, {
      status: 'queued',
      finishedAt: null,
      startedAt: null,
      workerId: null,
      nextAttemptAt: null,
      error: null,
      result: null,
      progress: null,
      updatedAt: now,
    }),
  ];
}

const dependsOn = (r: JobRow): string[] =>
  r.dependsOn ? (JSON.parse(r.dependsOn) as string[]) : [];

/** A job with dependencies runs again only if every one of them has succeeded. */
function blockedBy(
  s: QueueShell,
  r: JobRow,
  looked: Map<string, { tenant: string; status: JobStatus }>,
): Verdict | null {
  for (const id of dependsOn(r)) {
    const known = dependency(s, id, looked);
    if (known?.status !== 'succeeded') return `skipped:dependency ${id} has not succeeded`;
  }
  return null;
}

function answerOf(ids: string[], verdicts: Map<string, Verdict>): BulkPageAnswer {
  const out: BulkPageAnswer = { done: 0, skipped: 0, failed: 0, problems: [] };
  for (const id of ids) {
    const v = verdicts.get(id)!;
    if (v === 'done') out.done++;
    else {
      out.skipped++;
      out.problems.push({ job_id: id, reason: v.slice('skipped:'.length) });
    }
  }
  return out;
}

function ensureMarks(s: QueueShell): void {
  s.ctx.storage.sql.exec(
    `CREATE TABLE IF NOT EXISTS bulk_marks (bulk_id TEXT NOT NULL, job_id TEXT NOT NULL, verdict TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (bulk_id, job_id)) WITHOUT ROWID;
     CREATE INDEX IF NOT EXISTS bulk_marks_at ON bulk_marks (at);`,
  );
}

function markOf(s: QueueShell, bulkId: string, jobId: string): Verdict | null {
  const row = s.ctx.storage.sql
    .exec<{ verdict: string }>(
      'SELECT verdict FROM bulk_marks WHERE bulk_id = ? AND job_id = ?',
      bulkId,
      jobId,
    )
    .toArray()[0];
  return (row?.verdict as Verdict | undefined) ?? null;
}

function mark(s: QueueShell, bulkId: string, jobId: string, verdict: Verdict, now: number): void {
  s.ctx.storage.sql.exec(
    'INSERT OR REPLACE INTO bulk_marks (bulk_id, job_id, verdict, at) VALUES (?, ?, ?, ?)',
    bulkId,
    jobId,
    verdict,
    now,
  );
}
