// The cron's backstop: D1's active jobs of the queue against what the object holds.
import { activeJobsOfQueue, type JobPatch, type Stmt } from '../src/db/write-jobs';
import type { JobRow } from '../src/db/schema';
import { activeJobOf } from '../src/db/job-rows';
import { log } from '../src/log';
import { type ActiveJob } from './store';
import type { QueueShell } from './queue-shell';
import { dependency, lookUpDependencies } from './submission';

/**
 * The cron backstop: the same reaping and timers as the alarm, a retry of the outbox, and a look
 * at D1's active jobs of the queue. D1 never overrides this object: a job it holds or remembers
 * finishing is repaired in D1 from the object (once nothing of the object's is still on its way
 * there), and only a job the object never took (its storage was lost) is imported and run.
 */
export async function reconcile(s: QueueShell, queue: string): Promise<{ imported: number }> {
  s.bind(queue);
  const now = Date.now();
  s.tick(now);
  await s.outbox.flush(now, true);
  let rows: JobRow[];
  try {
    rows = await activeJobsOfQueue(s.db, queue, 500);
  } catch (e) {
    log({ event: 'reconcile_skipped', queue, error: String(e).slice(0, 300) });
    await s.armAlarm();
    return { imported: 0 };
  }
  const dependsOn = (r: JobRow): string[] =>
    r.dependsOn ? (JSON.parse(r.dependsOn) as string[]) : [];
  const unseen = (r: JobRow) => !s.knows(r.id);
  const looked = await lookUpDependencies(
    s,
    rows
      .filter((r) => r.status === 'waiting' && unseen(r))
      .map((r) => ({ id: r.id, depends_on: dependsOn(r) })),
  );
  // From here on one synchronous turn: judged against what the object holds now, after every await.
  const stmts: Stmt[] = [];
  const settled = s.outbox.size === 0;
  let imported = 0;
  let repaired = 0;
  let seq = s.store.nextSeq();
  for (const r of rows) {
    const active = s.store.jobById(r.id);
    const ended = active ? null : s.deps.outcome(r.id);
    if (active || ended) {
      if (settled && (active?.status ?? ended!.status) !== r.status) {
        stmts.push(
          s.project(
            r.id,
            active
              ? stateOf(active, now)
              : { status: ended!.status, finishedAt: now, nextAttemptAt: null, updatedAt: now },
          ),
        );
        repaired++;
      }
      continue;
    }
    // A waiting job waits again for what has not finished; one whose dependency failed is cancelled.
    const pending = new Set<string>();
    let failedDep: string | null = null;
    for (const id of dependsOn(r)) {
      const known = dependency(s, id, looked);
      if (known?.status === 'failed' || known?.status === 'cancelled') failedDep ??= id;
      else if (known && known.status !== 'succeeded') pending.add(id);
    }
    if (failedDep !== null) {
      s.deps.record(r.id, r.tenant, 'cancelled', now);
      stmts.push(
        s.project(r.id, {
          status: 'cancelled',
          finishedAt: now,
          updatedAt: now,
          error: `dependency ${failedDep} did not succeed`,
        }),
      );
      continue;
    }
    const job = activeJobOf(r, seq++, pending.size ? 'waiting' : 'queued', r.error);
    s.store.insertJob(job);
    if (pending.size) s.deps.wait(job.seq, pending);
    else s.engine.accept(job);
    imported++;
    stmts.push(
      s.project(r.id, {
        status: job.status,
        updatedAt: now,
        workerId: null,
        nextAttemptAt: null,
      }),
    );
  }
  if (imported) s.store.setMeta('seq', String(seq - 1));
  if (imported || repaired) log({ event: 'reconcile', queue, imported, repaired });
  await s.persist(stmts);
  s.kick();
  await s.armAlarm();
  return { imported };
}

/** The object's state of an active job as its D1 row shows it. */
function stateOf(job: ActiveJob, now: number): JobPatch {
  return {
    status: job.status,
    attempts: job.attempts,
    workerId: job.worker_id,
    startedAt: job.started_at,
    nextAttemptAt: job.next_attempt_at,
    error: job.last_error,
    updatedAt: now,
  };
}
