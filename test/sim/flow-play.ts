import type { QueueEngine } from '../../src/core/engine/engine';
import type { Effect } from '../../src/core/engine/effects';
import type { MemoryStore } from './memory-store';
import type { Checker } from './checker';
import { newJob } from './jobs';

/** What the flow-control play needs of the world it runs in (world.ts). */
export interface FlowWorld {
  store: MemoryStore;
  checker: Checker;
  engine(): QueueEngine;
  nextSeq(): number;
  int(lo: number, hi: number): number;
  chance(percent: number): boolean;
  apply(effects: Effect[]): void;
}

interface Burst {
  key: string;
  /** The payload of the last submission that went into the job. */
  payload: string;
  /** The last submission's time plus its delay: the job may not start before. */
  dueAt: number;
}

/**
 * Debounced submissions and edits of waiting jobs (issue 17), played into a run of the simulation
 * beside its other traffic, through the engine's own verbs, with the world's crashes in between.
 * The keys' table (key to job) plays the object's `debounce_keys`: storage, so it survives a crash.
 * Invariants: a debounced job starts only with the payload of the last submission that went into
 * it, never before the last submission's delay, and takes no submission once it has been
 * dispatched; a key never has two jobs pending at once (one burst, one job).
 */
export class FlowPlay {
  private readonly keyJob = new Map<string, string>();
  private readonly bursts = new Map<string, Burst>();
  private readonly started = new Set<string>();
  private payloads = 0;
  debounced = 0;
  edits = 0;

  constructor(private readonly w: FlowWorld) {}

  /** One client action: one to three debounced submissions of a key (of two), or an edit. */
  act(now: number): void {
    if (this.w.chance(30)) return this.edit(now);
    const key = this.w.chance(50) ? 'd1' : 'd2';
    for (let k = this.w.int(1, 3); k > 0; k--) this.submit(key, now);
  }

  private submit(key: string, now: number): void {
    const payload = JSON.stringify({ n: ++this.payloads });
    const runAt = now + this.w.int(300, 5000);
    const id = this.keyJob.get(key);
    const pending = id ? this.w.store.byId(id) : null;
    const input = { payload, payload_blob: null, runAt };
    const effects = this.w.engine().debounce(pending, input, now);
    if (effects) {
      if (this.started.has(pending!.id))
        this.fail(`debounce key ${key}: job ${pending!.id} took a submission after it started`);
      this.bursts.set(pending!.id, { key, payload, dueAt: runAt });
      this.debounced++;
      this.w.apply(effects);
      return;
    }
    const job = newJob(this.w.nextSeq(), now, this.w.int(0, 2), this.w.int(0, 2), 4, null);
    job.payload = payload;
    job.status = 'scheduled';
    job.next_attempt_at = runAt;
    this.w.store.insert(job);
    this.keyJob.set(key, job.id);
    this.bursts.set(job.id, { key, payload, dueAt: runAt });
    this.w.checker.submitted.set(job.id, {
      id: job.id,
      seq: job.seq,
      priority: job.priority,
      createdAt: now,
      key: null,
      limit: null,
    });
    this.w.engine().accept(job);
  }

  /** A dispatch the world is about to send. */
  dispatched(jobId: string, payload: unknown, now: number): void {
    const burst = this.bursts.get(jobId);
    if (!burst) return;
    if (!this.started.has(jobId) && now < burst.dueAt)
      this.fail(
        `debounced job ${jobId} started at ${now}, before its last submission's ${burst.dueAt}`,
      );
    this.started.add(jobId);
    if (JSON.stringify(payload) !== burst.payload)
      this.fail(
        `debounced job ${jobId} ran with ${JSON.stringify(payload)}, last was ${burst.payload}`,
      );
  }

  /** After every step: at most one pending job per key. */
  check(now: number): void {
    const pending = new Map<string, number>();
    for (const j of this.w.store.scan()) {
      const burst = this.bursts.get(j.id);
      if (!burst || j.status !== 'scheduled' || (j.next_attempt_at ?? 0) <= now) continue;
      pending.set(burst.key, (pending.get(burst.key) ?? 0) + 1);
    }
    for (const [key, n] of pending)
      if (n > 1) this.fail(`debounce key ${key} has ${n} pending jobs`);
  }

  /** PATCH /jobs/:id on a random job: a new priority, or a due time around now. */
  private edit(now: number): void {
    const jobs = this.w.store.all();
    if (jobs.length === 0) return;
    const job = jobs[this.w.int(0, jobs.length - 1)];
    // A debounced job keeps its burst's timing: an edit of it is PATCH's business, not the burst's.
    if (this.bursts.has(job.id)) return;
    const change = this.w.chance(50)
      ? { priority: this.w.int(0, 2) }
      : { runAt: now + this.w.int(-500, 3000) };
    const done = this.w.engine().edit(job.id, change, now);
    const editable = ['waiting', 'scheduled', 'queued'].includes(job.status);
    if (done.ok !== editable)
      this.fail(`edit of ${job.status} job ${job.id} answered ${done.ok ? 'ok' : 'refused'}`);
    if (!done.ok) return;
    this.edits++;
    const stored = this.w.store.byId(job.id)!;
    if (change.priority !== undefined && stored.priority !== change.priority)
      this.fail(`edit of ${job.id} to priority ${change.priority} left ${stored.priority}`);
    this.w.apply(done.effects);
  }

  private fail(message: string): void {
    if (this.w.checker.violations.length < 20) this.w.checker.violations.push(message);
  }
}
