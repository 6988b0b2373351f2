import type { ReadyQueue } from '../ready-queue';
import type { ConcurrencyGate } from '../concurrency';
import type { JobPatch } from '../../db/write-jobs';
import type { JobStore } from './effects';
import type { EngineJob } from './job';

/** What a change of priority reads and changes of the engine's state. */
export interface PriorityState {
  ready: ReadyQueue;
  gate: ConcurrencyGate;
  store: JobStore;
  enqueue(job: EngineJob): void;
}

/**
 * New priority for jobs that have not started (waiting, scheduled, queued, retrying). A queued job
 * leaves its heap in the ready queue and joins the heap of its new priority at once, keeping its
 * age (created_at) and so its place among its new peers; the others take the new priority when they
 * are queued. The jobs parked on the concurrency key of a job that changed go back to the ready
 * queue, to be parked again if the key is still full when their turn comes: left parked, one could
 * wait behind a job of its key that is now of lower priority and already in the ready queue (found
 * by the simulation, seed 413). Returns the ids it applied to; a
 * running, finished or unknown job is left alone. The ready queue is changed in one pass per heap,
 * so a bulk action over a long queue costs O(queue) per page, not per job.
 */
export function reprioritise(
  s: PriorityState,
  ids: string[],
  priority: number,
  project: (id: string, patch: JobPatch) => void,
  now: number,
): string[] {
  const applied: string[] = [];
  const moved: EngineJob[] = [];
  const entries: { seq: number; tenant: string; priority: number }[] = [];
  for (const id of ids) {
    const job = s.store.byId(id);
    if (!job || job.status === 'running') continue;
    applied.push(id);
    if (job.priority === priority) continue;
    if (job.status === 'queued')
      entries.push({ seq: job.seq, tenant: job.tenant, priority: job.priority });
    job.priority = priority;
    s.store.save(job);
    moved.push(job);
    project(job.id, { priority, updatedAt: now });
  }
  const taken = s.ready.removeMany(entries);
  for (const job of moved) if (taken.has(job.seq)) s.enqueue(job);
  // The jobs parked on a touched key go back to the ready queue too: the key's order has changed, so
  // the one the gate let through may no longer be its best. The pass parks them again if it is full.
  const keys = new Set(moved.flatMap((j) => (j.concurrency_key ? [j.concurrency_key] : [])));
  for (const key of keys) returnParked(s, key);
  return applied;
}

/** Every job parked on `key` back to the ready queue: a priority in the key changed (see above). */
export function returnParked(s: Omit<PriorityState, 'ready'>, key: string): void {
  for (let seq = s.gate.unpark(key); seq !== -1; seq = s.gate.unpark(key)) {
    const parked = s.store.bySeq(seq);
    if (parked && parked.status === 'queued') s.enqueue(parked);
  }
}
