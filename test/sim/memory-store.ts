import type { JobStore } from '../../src/core/engine/effects';
import type { EngineJob } from '../../src/core/engine/job';
import type { RateStart } from '../../src/core/rate-gate';
import { NO_CONTROLS, type QueueControls } from '../../src/core/engine/flow';

/**
 * The engine's job rows as the queue's SQLite would hold them: every read is a copy and only `save`
 * writes, so a verb that changes a job without saving it loses the change here exactly as it would
 * in the Durable Object, and a restart sees only what was saved.
 */
export class MemoryStore implements JobStore {
  private readonly rows = new Map<number, EngineJob>();
  private readonly ids = new Map<string, number>();
  private starts: RateStart[] = [];
  /** The queue's pause and cap as the shell stores them (meta), read back on restart. */
  controls: QueueControls = NO_CONTROLS;

  insert(job: EngineJob): void {
    this.rows.set(job.seq, { ...job });
    this.ids.set(job.id, job.seq);
  }

  bySeq(seq: number): EngineJob | null {
    const row = this.rows.get(seq);
    return row ? { ...row } : null;
  }

  byId(id: string): EngineJob | null {
    const seq = this.ids.get(id);
    return seq === undefined ? null : this.bySeq(seq);
  }

  save(job: EngineJob): void {
    if (!this.rows.has(job.seq)) throw new Error(`save of job ${job.id} that is not stored`);
    this.rows.set(job.seq, { ...job });
  }

  delete(seq: number): void {
    const row = this.rows.get(seq);
    if (row) this.ids.delete(row.id);
    this.rows.delete(seq);
  }

  runningOf(nodeId: string): EngineJob[] {
    return this.all().filter((j) => j.status === 'running' && j.worker_id === nodeId);
  }

  recordStart(start: RateStart, forgetBefore: number): void {
    this.starts = this.starts.filter((s) => s.key !== start.key || s.at > forgetBefore);
    this.starts.push({ ...start });
  }

  /** The stored rows themselves, unordered, for checks that only read them. */
  scan(): Iterable<EngineJob> {
    return this.rows.values();
  }

  get size(): number {
    return this.rows.size;
  }

  all(): EngineJob[] {
    return [...this.rows.values()].sort((a, b) => a.seq - b.seq).map((j) => ({ ...j }));
  }

  /** What the Durable Object reads back on start (durable-objects/scheduler.ts `load`). */
  restoreInput() {
    const all = this.all();
    return {
      queued: all.filter((j) => j.status === 'queued'),
      timed: all
        .filter((j) => j.status === 'scheduled' || j.status === 'retrying')
        .map((j) => ({ seq: j.seq, key: j.next_attempt_at! })),
      running: all.filter((j) => j.status === 'running'),
      flow: { starts: this.starts.map((s) => ({ ...s })), controls: { ...this.controls } },
    };
  }
}
