import { SeqHeap } from '../heap';
import type { EngineJob } from './job';

/**
 * The queue's running attempts: each lease's deadline (a heap, for the alarm and for expiry) and the
 * job ids each node runs (its taken slots). Rebuilt from the running jobs on start.
 */
export class LeaseBook {
  private readonly deadlines = new SeqHeap();
  /** Deadline of each live lease: heap entries not here are stale (compacted away in `drop`). */
  private readonly live = new Map<number, number>();
  private readonly slots = new Map<string, Set<string>>();

  hold(job: EngineJob): void {
    this.deadlines.push(job.lease_deadline!, job.seq);
    this.live.set(job.seq, job.lease_deadline!);
    this.slotsOf(job.worker_id!).add(job.id);
  }

  /**
   * A lease ended. Its heap entry would otherwise stay until its deadline and wake the alarm for
   * nothing: once stale entries outnumber live ones, the heap is rebuilt from the live ones (O(live),
   * after at least as many finishes, so O(1) a job).
   */
  drop(job: EngineJob): void {
    if (job.worker_id) this.slots.get(job.worker_id)?.delete(job.id);
    if (!this.live.delete(job.seq)) return;
    if (this.deadlines.size - this.live.size <= this.live.size) return;
    this.deadlines.clear();
    for (const [seq, deadline] of this.live) this.deadlines.push(deadline, seq);
  }

  /** The seq of a lease whose deadline is at or before `now`, taken off the heap; -1 when none. */
  popDue(now: number): number {
    while (this.deadlines.size > 0 && this.deadlines.peekKey() <= now) {
      const seq = this.deadlines.pop();
      if (this.live.get(seq) !== undefined && this.live.get(seq)! <= now) return seq;
    }
    return -1;
  }

  nextDeadline(): number {
    return this.deadlines.peekKey();
  }

  running(nodeId: string): number {
    return this.slots.get(nodeId)?.size ?? 0;
  }

  forgetNode(nodeId: string): void {
    this.slots.delete(nodeId);
  }

  get size(): number {
    return this.live.size;
  }

  private slotsOf(nodeId: string): Set<string> {
    let s = this.slots.get(nodeId);
    if (!s) this.slots.set(nodeId, (s = new Set()));
    return s;
  }
}
