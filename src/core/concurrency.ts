import { SeqHeap } from './heap';

/**
 * Concurrency keys: at most `limit` jobs with the same key run at once. A job whose key is at its
 * limit is parked here (out of the ready queue, so it does not block other work) and comes back when
 * one of its key's jobs finishes: the one first in dispatch order (`rank`: priority, then age), then
 * submission order (seq), so a key's high-priority job is not held behind its older low-priority ones.
 */
export class ConcurrencyGate {
  private readonly running = new Map<string, number>();
  private readonly parked = new Map<string, SeqHeap>();
  private parkedCount = 0;

  canStart(key: string | null, limit: number | null): boolean {
    if (!key || !limit) return true;
    return (this.running.get(key) ?? 0) < limit;
  }

  started(key: string | null): void {
    if (key) this.running.set(key, (this.running.get(key) ?? 0) + 1);
  }

  /** A job of `key` stopped running. */
  finished(key: string | null): void {
    if (!key) return;
    const n = (this.running.get(key) ?? 0) - 1;
    if (n > 0) this.running.set(key, n);
    else this.running.delete(key);
  }

  /** The first job parked on `key` (its seq), taken out of the gate, or -1. */
  unpark(key: string | null): number {
    if (!key) return -1;
    const heap = this.parked.get(key);
    if (!heap || heap.size === 0) return -1;
    const seq = heap.pop();
    this.parkedCount--;
    if (heap.size === 0) this.parked.delete(key);
    return seq;
  }

  park(key: string, seq: number, rank = seq): void {
    let heap = this.parked.get(key);
    if (!heap) this.parked.set(key, (heap = new SeqHeap(8)));
    heap.push(rank, seq);
    this.parkedCount++;
  }

  runningOf(key: string): number {
    return this.running.get(key) ?? 0;
  }

  get parkedSize(): number {
    return this.parkedCount;
  }

  /** The seqs of every parked job, in no order: for a per-tenant count. */
  *parkedSeqs(): Iterable<number> {
    for (const heap of this.parked.values()) yield* heap.ordered(heap.size);
  }
}
