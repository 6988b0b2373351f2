import type { ReadyQueue } from '../ready-queue';
import type { JobPatch } from '../../db/write-jobs';
import type { JobStore } from './effects';
import type { EngineJob } from './job';

/** What a change of priority reads and changes of the engine's state. */
export interface PriorityState {
  ready: ReadyQueue;
  store: JobStore;
  enqueue(job: EngineJob): void;
}

/**
 * New priority for jobs that have not started (waiting, scheduled, queued, retrying). A queued job
 * leaves its heap in the ready queue and joins the heap of its new priority at once, keeping its
 * age (created_at) and so its place among its new peers; the others take the new priority when they
 * are queued. A job parked on its concurrency key keeps its rank among the key's parked jobs until
 * it comes back to the ready queue, where the new priority counts. Returns the ids it applied to; a
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
  const taken = s.ready.remove(entries);
  for (const job of moved) if (taken.has(job.seq)) s.enqueue(job);
  return applied;
}
