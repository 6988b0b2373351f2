import { transition } from '../job-state';
import type { JobStatus } from '../../protocol/job';
import type { JobPatch } from '../../db/write-jobs';
import type { EngineJob } from './job';
import type { Effect } from './effects';
import { EngineState } from './engine-state';
import { reprioritise, returnParked } from './reprioritise';

/** What `PATCH /jobs/:id` may change of a job that has not started. */
export interface WaitingChange {
  priority?: number;
  /** Epoch ms; at or before now means "now". */
  runAt?: number;
}

/** The payload a later submission of a debounce key brings to the pending job. */
export interface DebouncedInput {
  payload: string;
  payload_blob: string | null;
  /** Epoch ms: the last submission plus the key's delay. */
  runAt: number;
}

/** States of a job that has not started: it can still be edited (`running` and after cannot). */
const EDITABLE: readonly JobStatus[] = ['waiting', 'scheduled', 'queued'];

/**
 * Verbs that change a job before it starts: an edit (priority, due time), a bulk change of
 * priority, a debounce (a later submission of the job's key replaces its payload and moves its due
 * time), and the cancel of a waiting job whose dependency failed. Each moves the job in the ready
 * queue or the timers in the same turn as the row, so no dispatch sees it half edited.
 */
export class WaitingEdits extends EngineState {
  /**
   * Edits a job not yet started. A queued job with a later run_at goes back to `scheduled`; a
   * scheduled one whose new run_at has come is queued at once. A job that has started (or ended, or
   * is not here) is refused with its status (null when this queue does not hold it).
   */
  edit(
    id: string,
    change: WaitingChange,
    now: number,
  ): { ok: true; effects: Effect[] } | { ok: false; status: JobStatus | null } {
    const job = this.store.byId(id);
    if (!job || !EDITABLE.includes(job.status)) return { ok: false, status: job?.status ?? null };
    const before = { priority: job.priority, status: job.status, at: job.next_attempt_at };
    const wasReady = job.status === 'queued' && this.ready.remove(job);
    if (change.priority !== undefined) job.priority = change.priority;
    const patch: JobPatch = { priority: job.priority, updatedAt: now };
    if (change.runAt !== undefined) this.moveDue(job, change.runAt, now, patch, wasReady);
    // Back in with its new priority; a job parked on its concurrency key or unroutable is not in
    // the ready queue and returns to it, with its new priority, when its turn comes.
    else if (wasReady) this.enqueue(job);
    // The key's parked jobs were ranked by the old priority (reprioritise.ts, simulation seed 413).
    if (job.concurrency_key && job.priority !== before.priority)
      returnParked(
        { gate: this.gate, store: this.store, enqueue: (j) => this.enqueue(j) },
        job.concurrency_key,
      );
    this.store.save(job);
    this.event('job_edited', job, {
      previous_priority: before.priority,
      priority: job.priority,
      previous_status: before.status,
      status: job.status,
      next_attempt_at: job.next_attempt_at,
    });
    this.project(job.id, patch);
    return { ok: true, effects: this.take() };
  }

  /** New priority for jobs not yet started; a queued one moves at once (reprioritise.ts). */
  reprioritise(ids: string[], priority: number, now: number): { ids: string[]; effects: Effect[] } {
    const s = {
      ready: this.ready,
      gate: this.gate,
      store: this.store,
      enqueue: (j: EngineJob) => this.enqueue(j),
    };
    const applied = reprioritise(s, ids, priority, (id, patch) => this.project(id, patch), now);
    return { ids: applied, effects: this.take() };
  }

  /** A dependency of a waiting job did not succeed: the job can never run. */
  cancelWaiting(job: EngineJob, reason: string, now: number): Effect[] {
    job.status = transition(job.status, 'cancelled');
    this.store.delete(job.seq);
    this.observer.cancelled(now);
    this.event('job_cancelled', job, { previous_status: 'waiting', reason });
    this.project(job.id, {
      status: 'cancelled',
      finishedAt: now,
      updatedAt: now,
      nextAttemptAt: null,
      error: reason,
    });
    this.fx.push({ kind: 'finished', job, status: 'cancelled', result: null, error: reason });
    return this.take();
  }

  /**
   * A later submission of a debounce key whose job is `pending`: the job takes its payload and runs
   * at `runAt` instead. Null when `pending` is no longer pending (it was queued, started, ended or is
   * unknown): the caller makes a new job for the key. Pending means still `scheduled` and not yet
   * due, so a submission after the key's quiet period starts a new burst even if the alarm is late.
   */
  debounce(pending: EngineJob | null, input: DebouncedInput, now: number): Effect[] | null {
    if (!isDebouncePending(pending, now)) return null;
    const job = pending!;
    job.payload = input.payload;
    job.payload_blob = input.payload_blob;
    const patch: JobPatch = {
      payload: input.payload,
      payloadBlob: input.payload_blob,
      updatedAt: now,
    };
    this.moveDue(job, input.runAt, now, patch, false);
    this.store.save(job);
    this.event('job_debounced', job, { level: 'debug', next_attempt_at: job.next_attempt_at });
    this.project(job.id, patch);
    return this.take();
  }

  /**
   * The job's new due time. The old timer entry stays in the heap and is skipped when it comes
   * (tick checks the job's own `next_attempt_at`), so moving a timer is O(log n).
   */
  private moveDue(
    job: EngineJob,
    runAt: number,
    now: number,
    patch: JobPatch,
    wasReady: boolean,
  ): void {
    if (job.status === 'waiting') {
      // Kept for when its dependencies are done: it is queued no earlier (wake).
      job.next_attempt_at = runAt > now ? runAt : null;
    } else if (runAt > now) {
      if (job.status === 'queued') job.status = transition(job.status, 'scheduled');
      job.next_attempt_at = runAt;
      this.timers.push(runAt, job.seq);
    } else {
      if (job.status === 'scheduled' || wasReady) this.enqueue(job);
      if (job.status === 'scheduled') job.status = transition(job.status, 'queued');
      job.next_attempt_at = null;
    }
    patch.status = job.status;
    patch.nextAttemptAt = job.next_attempt_at;
  }
}

/** Whether a debounce key's job still takes later submissions: scheduled, and its time not come. */
export function isDebouncePending(job: EngineJob | null, now: number): boolean {
  return !!job && job.status === 'scheduled' && (job.next_attempt_at ?? 0) > now;
}
