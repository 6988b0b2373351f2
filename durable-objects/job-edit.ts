// PATCH /jobs/:id in the queue's object: the engine moves the job, the outbox projects it to D1.
import type { JobStatus } from '../src/protocol/job';
import type { WaitingChange } from '../src/core/engine/waiting-edits';
import type { QueueShell } from './queue-shell';

/**
 * Edits a job that has not started (src/core/engine/waiting-edits.ts). Answers once D1 has the
 * change (or after the outbox's wait), so a read after the answer sees it. A job that started,
 * ended or is not held here is refused with the status this object knows (null: not here).
 */
export async function editJob(
  s: QueueShell,
  queue: string,
  id: string,
  change: WaitingChange,
): Promise<{ ok: true; status: JobStatus } | { ok: false; status: string | null }> {
  s.bind(queue);
  const now = Date.now();
  const done = s.engine.edit(id, change, now);
  if (!done.ok) return { ok: false, status: done.status ?? s.deps.outcome(id)?.status ?? null };
  const landed = s.persist(s.apply(done.effects, now));
  s.kick();
  await s.armAlarm();
  await landed;
  return { ok: true, status: s.store.jobById(id)!.status };
}
