import { SeqHeap } from './heap';

/** A job's `rate_limit` (src/protocol/job.ts): at most `limit` starts of `key` in any `period_sec`. */
export interface RateLimitSpec {
  key: string;
  limit: number;
  period_sec: number;
}

/** One remembered start of a rate-limited job, as the queue's storage keeps it. */
export interface RateStart {
  key: string;
  at: number;
  period_ms: number;
}

interface Window {
  /** Start times, ascending: every start of the key still inside its longest period. */
  starts: number[];
  /** The longest period a job of this key named: how long a start is remembered. */
  periodMs: number;
}

/**
 * Rate limits per key: at most `limit` jobs of a key start in any window of `period_sec`, a sliding
 * log of start times (exact, unlike a token bucket, which lets a burst of `limit` through at each
 * window's edge). Every start counts: first attempts, retries and re-dispatches alike.
 *
 * A job over its key's limit is parked here, out of the ready queue so it blocks no other job, with
 * a wake time: when the oldest start that holds it back leaves the window. At that time (`due`), as
 * many of the key's parked jobs go back to the ready queue as the window has room for, first in
 * dispatch order. The starts are kept in the queue's storage with the job rows (the caller's
 * `record`), so a restart forgets no start and the limit holds across it; parked jobs are plain
 * queued jobs in storage and are parked again by the first pass after a restart.
 *
 * Jobs of one key should name one limit and period. When they differ, each job is held to its own
 * limit over its own period, counting every start of its key that is remembered (for the longest
 * period named).
 */
export class RateGate {
  private readonly windows = new Map<string, Window>();
  private readonly parked = new Map<string, { heap: SeqHeap; spec: RateLimitSpec }>();
  private parkedCount = 0;
  /** (wake time, key number): a key is due when its window may have room again. */
  private readonly wakes = new SeqHeap(64);
  private readonly wakeAt = new Map<string, number>();
  private readonly numberOf = new Map<string, number>();
  private readonly keyOf = new Map<number, string>();
  private nextNumber = 0;
  private sweptAt = 0;

  /** The remembered starts, read back from storage on start. */
  restore(starts: Iterable<RateStart>): void {
    for (const s of starts) this.add(s.key, s.at, s.period_ms);
    for (const w of this.windows.values()) w.starts.sort((a, b) => a - b);
  }

  /** Null when a job of `spec` may start at `now`, else when its key's window has room again. */
  blockedUntil(spec: RateLimitSpec, now: number): number | null {
    const w = this.windows.get(spec.key);
    if (!w) return null;
    const periodMs = spec.period_sec * 1000;
    // A start at t counts while now - t < period.
    const first = firstAfter(w.starts, now - periodMs);
    const inWindow = w.starts.length - first;
    if (inWindow < spec.limit) return null;
    return w.starts[first + inWindow - spec.limit] + periodMs;
  }

  /** A job of `spec` started: returns the start to store and the time before which the key's starts may be forgotten. */
  started(spec: RateLimitSpec, now: number): { start: RateStart; forgetBefore: number } {
    const w = this.add(spec.key, now, spec.period_sec * 1000);
    const forgetBefore = now - w.periodMs;
    w.starts.splice(0, firstAfter(w.starts, forgetBefore));
    return { start: { key: spec.key, at: now, period_ms: w.periodMs }, forgetBefore };
  }

  /** Parks a job whose key is at its limit until `until`, ranked for the order it comes back in. */
  park(spec: RateLimitSpec, seq: number, rank: number, until: number): void {
    let p = this.parked.get(spec.key);
    if (!p) this.parked.set(spec.key, (p = { heap: new SeqHeap(8), spec }));
    p.spec = spec;
    p.heap.push(rank, seq);
    this.parkedCount++;
    const at = this.wakeAt.get(spec.key);
    if (at !== undefined && at <= until) return;
    this.wakeAt.set(spec.key, until);
    this.wakes.push(until, this.numberFor(spec.key));
  }

  /**
   * The parked jobs whose key has room at `now` (seqs, in each key's dispatch order), taken out of
   * the gate: as many per key as its window has room for. `alive` says whether a seq is still a
   * queued job (a cancelled one takes no room). Keys still full are woken again later.
   */
  due(now: number, alive: (seq: number) => boolean): number[] {
    const out: number[] = [];
    if (now - this.sweptAt > SWEEP_EVERY_MS) this.sweep(now);
    while (this.wakes.size > 0 && this.wakes.peekKey() <= now) {
      const at = this.wakes.peekKey();
      const key = this.keyOf.get(this.wakes.pop())!;
      if (this.wakeAt.get(key) !== at) continue; // superseded by an earlier wake
      this.wakeAt.delete(key);
      const p = this.parked.get(key);
      if (!p) continue;
      const blocked = this.blockedUntil(p.spec, now);
      if (blocked !== null) {
        this.wakeAt.set(key, blocked);
        this.wakes.push(blocked, this.numberFor(key));
        continue;
      }
      const w = this.windows.get(key);
      const periodMs = p.spec.period_sec * 1000;
      const used = w ? w.starts.length - firstAfter(w.starts, now - periodMs) : 0;
      let room = p.spec.limit - used;
      while (room > 0 && p.heap.size > 0) {
        const seq = p.heap.pop();
        this.parkedCount--;
        if (!alive(seq)) continue;
        out.push(seq);
        room--;
      }
      if (p.heap.size === 0) {
        this.parked.delete(key);
        this.forgetNumber(key);
      } else {
        // Those left wait for the room the ones let go will take: if all of these start now, the
        // window has room again when its oldest start leaves it.
        const oldest = w && used > 0 ? w.starts[w.starts.length - used] : now;
        const again = Math.max(oldest + periodMs, now + 1);
        this.wakeAt.set(key, again);
        this.wakes.push(again, this.numberFor(key));
      }
    }
    return out;
  }

  /** The earliest wake time (Infinity when nothing is parked): part of the alarm's deadline. */
  nextWake(): number {
    return this.wakes.peekKey();
  }

  /** Forgets the windows with no start left in them (memory); `due` does it once an hour. */
  sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, w] of this.windows)
      if (w.starts.length === 0 || w.starts[w.starts.length - 1] <= now - w.periodMs)
        this.windows.delete(key);
  }

  get parkedSize(): number {
    return this.parkedCount;
  }

  /** The seqs of every parked job, in no order: for a per-tenant count. */
  *parkedSeqs(): Iterable<number> {
    for (const p of this.parked.values()) yield* p.heap.ordered(p.heap.size);
  }

  /** Starts remembered of `key` within `periodMs` of `now` (for views and tests). */
  startsIn(key: string, now: number, periodMs: number): number {
    const w = this.windows.get(key);
    return w ? w.starts.length - firstAfter(w.starts, now - periodMs) : 0;
  }

  private add(key: string, at: number, periodMs: number): Window {
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = { starts: [], periodMs }));
    w.periodMs = Math.max(w.periodMs, periodMs);
    w.starts.push(at);
    return w;
  }

  private numberFor(key: string): number {
    let n = this.numberOf.get(key);
    if (n === undefined) {
      n = this.nextNumber++;
      this.numberOf.set(key, n);
      this.keyOf.set(n, key);
    }
    return n;
  }

  private forgetNumber(key: string): void {
    if (this.wakeAt.has(key)) return;
    const n = this.numberOf.get(key);
    if (n === undefined) return;
    this.numberOf.delete(key);
    this.keyOf.delete(n);
  }
}

const SWEEP_EVERY_MS = 3_600_000;

/** The index of the first start after `t` (binary search; starts ascending). */
function firstAfter(starts: number[], t: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A job's stored `rate_limit` (JSON), or null. */
export function rateLimitOf(stored: string | null): RateLimitSpec | null {
  return stored ? (JSON.parse(stored) as RateLimitSpec) : null;
}
