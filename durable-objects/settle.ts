// What the object does when a job ends: its callback, its remembered outcome, its dependents.
import { type Stmt } from '../src/db/write-jobs';
import type { JobResult } from '../src/protocol/job';
import { type ActiveJob } from './store';
import type { JobStatus } from '../src/protocol/job';
import type { QueueShell } from './queue-shell';
import type { FinalStatus } from '../src/core/engine/effects';

/** A job reached a terminal state: queue its callback, if it has one, and start delivering. */
export function finished(
  s: QueueShell,
  job: ActiveJob,
  status: FinalStatus,
  result: JobResult | null,
  error: string | null,
  now: number,
): Stmt[] {
  s.deps.record(job.id, job.tenant, status, now);
  s.rememberFinished({ job, status, result, error, at: now });
  return [
    ...callbackFor(s, job, status, result, error, now),
    ...settleDependents(s, job.id, status, now),
  ];
}

export function callbackFor(
  s: QueueShell,
  job: ActiveJob,
  status: FinalStatus,
  result: JobResult | null,
  error: string | null,
  now: number,
): Stmt[] {
  const url =
    status === 'succeeded' ? job.callback_url : (job.failure_callback_url ?? job.callback_url);
  if (!url) return [];
  const event = `job.${status}`;
  const payload = {
    event,
    job: {
      id: job.id,
      tenant: job.tenant,
      queue: s.queue,
      type: job.type,
      status,
      attempts: job.attempts,
      result,
      error,
      finished_at: new Date(now).toISOString(),
    },
  };
  const stmt = s.callbacks.enqueue(job.id, url, event, payload, now);
  queueMicrotask(() => void s.callbacks.deliverDue(Date.now()).then(() => s.armAlarm()));
  return [stmt];
}

/**
 * A job finished: its waiters that have nothing left to wait for are queued (or scheduled, if their
 * run_at is still ahead); if it did not succeed, its waiters are cancelled, and theirs in turn
 * (through the `finished` effect of their cancellation).
 */
export function settleDependents(
  s: QueueShell,
  rootId: string,
  rootStatus: JobStatus,
  now: number,
): Stmt[] {
  const stmts: Stmt[] = [];
  for (const seq of s.deps.release(rootId)) {
    const waiter = s.store.jobBySeq(seq);
    if (!waiter || waiter.status !== 'waiting') continue;
    if (rootStatus === 'succeeded') {
      if (s.deps.pending(seq) > 0) continue;
      stmts.push(...s.apply(s.engine.wake(waiter, now), now));
      s.kick();
      void s.armAlarm();
      continue;
    }
    const reason = `dependency ${rootId} ${rootStatus === 'failed' ? 'failed' : 'was cancelled'}`;
    stmts.push(...s.apply(s.engine.cancelWaiting(waiter, reason, now), now));
  }
  return stmts;
}
