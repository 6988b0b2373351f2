/**
 * A binary min-heap of (key, seq) pairs in two parallel Float64Arrays: 16 bytes per queued job and
 * no objects for the garbage collector. `key` is what the policy orders by (the priority, or an
 * aged deadline); `seq` is the submission sequence, the FIFO tie-break and the job's handle.
 */
export class SeqHeap {
  private keys: Float64Array;
  private seqs: Float64Array;
  private n = 0;

  constructor(initialCapacity = 1024) {
    this.keys = new Float64Array(initialCapacity);
    this.seqs = new Float64Array(initialCapacity);
  }

  get size(): number {
    return this.n;
  }

  push(key: number, seq: number): void {
    if (this.n === this.keys.length) this.grow();
    let i = this.n++;
    // Sift up, moving parents down until the slot for (key, seq) is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(key, seq, this.keys[p], this.seqs[p])) break;
      this.keys[i] = this.keys[p];
      this.seqs[i] = this.seqs[p];
      i = p;
    }
    this.keys[i] = key;
    this.seqs[i] = seq;
  }

  /** Removes the smallest entry and returns its seq, or -1 when empty. */
  pop(): number {
    if (this.n === 0) return -1;
    const top = this.seqs[0];
    const last = --this.n;
    if (last > 0) this.siftDown(this.keys[last], this.seqs[last], last);
    return top;
  }

  /**
   * Removes the entry of `seq` wherever it is (a waiting job edited or taken out of turn): O(n) to
   * find it, which an edit of one job can afford; the hot paths never call it. False when absent.
   */
  remove(seq: number): boolean {
    let i = 0;
    while (i < this.n && this.seqs[i] !== seq) i++;
    if (i === this.n) return false;
    const last = --this.n;
    if (i === last) return true;
    const key = this.keys[last];
    const s = this.seqs[last];
    if (i > 0 && less(key, s, this.keys[(i - 1) >> 1], this.seqs[(i - 1) >> 1])) {
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(key, s, this.keys[p], this.seqs[p])) break;
        this.keys[i] = this.keys[p];
        this.seqs[i] = this.seqs[p];
        i = p;
      }
      this.keys[i] = key;
      this.seqs[i] = s;
    } else this.siftDown(key, s, last, i);
    return true;
  }

  peekSeq(): number {
    return this.n === 0 ? -1 : this.seqs[0];
  }

  peekKey(): number {
    return this.n === 0 ? Infinity : this.keys[0];
  }

  /** The first `limit` seqs in pop order, without changing the heap: O(limit log limit) over a frontier. */
  ordered(limit: number): number[] {
    const out: number[] = [];
    if (this.n === 0 || limit <= 0) return out;
    const frontier = new SeqHeap(Math.min(64, limit * 2));
    const index = new Map<number, number>();
    const visit = (i: number) => {
      frontier.push(this.keys[i], this.seqs[i]);
      index.set(this.seqs[i], i);
    };
    visit(0);
    while (out.length < limit && frontier.size > 0) {
      const seq = frontier.pop();
      const i = index.get(seq)!;
      index.delete(seq);
      out.push(seq);
      if (2 * i + 1 < this.n) visit(2 * i + 1);
      if (2 * i + 2 < this.n) visit(2 * i + 2);
    }
    return out;
  }

  /** Removes every entry whose seq is in `drop` in one pass and restores the heap: O(n). */
  removeSeqs(drop: ReadonlySet<number>): number[] {
    const removed: number[] = [];
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      if (drop.has(this.seqs[r])) {
        removed.push(this.seqs[r]);
        continue;
      }
      this.keys[w] = this.keys[r];
      this.seqs[w] = this.seqs[r];
      w++;
    }
    if (removed.length === 0) return removed;
    this.n = w;
    // Floyd's heap construction: sift every inner node down, last first.
    for (let i = (w >> 1) - 1; i >= 0; i--) {
      const key = this.keys[i];
      const seq = this.seqs[i];
      let j = i;
      for (;;) {
        let c = 2 * j + 1;
        if (c >= w) break;
        if (c + 1 < w && less(this.keys[c + 1], this.seqs[c + 1], this.keys[c], this.seqs[c])) c++;
        if (!less(this.keys[c], this.seqs[c], key, seq)) break;
        this.keys[j] = this.keys[c];
        this.seqs[j] = this.seqs[c];
        j = c;
      }
      this.keys[j] = key;
      this.seqs[j] = seq;
    }
    return removed;
  }

  clear(): void {
    this.n = 0;
  }

  /** Bytes held by the arrays: what a queued job costs in memory. */
  get byteLength(): number {
    return this.keys.byteLength + this.seqs.byteLength;
  }

  private siftDown(key: number, seq: number, n: number, from = 0): void {
    let i = from;
    const half = n >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < n && less(this.keys[r], this.seqs[r], this.keys[c], this.seqs[c])) c = r;
      if (!less(this.keys[c], this.seqs[c], key, seq)) break;
      this.keys[i] = this.keys[c];
      this.seqs[i] = this.seqs[c];
      i = c;
    }
    this.keys[i] = key;
    this.seqs[i] = seq;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    keys.set(this.keys);
    seqs.set(this.seqs);
    this.keys = keys;
    this.seqs = seqs;
  }
}

function less(k1: number, s1: number, k2: number, s2: number): boolean {
  return k1 < k2 || (k1 === k2 && s1 < s2);
}
