import { SeqHeap } from './heap';

/**
 * The queued jobs of one queue, in the order the scheduler dispatches them. The rules, in the order
 * they apply (docs/protocol.md, "Dispatch order"):
 *
 * 1. Class. A job's class is its priority (0 high, 1 normal, 2 low), raised by aging: with
 *    `maxStarvationMs` = S > 0, every S/2 of waiting moves it one class up, so a low-priority job is
 *    class 0 after S at the latest and no job waits more than S behind higher-priority work that
 *    arrived after it. Aging lifts a job only as high as the highest priority queued: it exists to
 *    get past higher-priority work, so with none waiting an old job does not outrank a new one of
 *    its own priority (which would undo fair share). The lowest class present goes first.
 * 2. Fair share. Among tenants whose best job is of that class, smooth weighted round-robin by tenant
 *    weight: a tenant's flood does not delay another tenant's job by more than a few dispatches. A
 *    weight-0 tenant is served only when no tenant with weight > 0 has work of that class.
 * 3. Within a tenant and class: the oldest job first (created_at), then submission order (seq). An
 *    aged job therefore goes before fresh jobs of the class it reached, which is what bounds its
 *    wait; without aging, class is priority and this is FIFO among equals.
 *
 * Entries are numbers in typed-array heaps (16 bytes a job); the caller keeps the job itself.
 */
export interface ReadyEntry {
  seq: number;
  tenant: string;
  priority: number;
  createdAt: number;
}

export interface ReadyPolicy {
  /** MAX_STARVATION_SEC in ms, read at every decision; 0 disables aging (strict priority). */
  maxStarvationMs(): number;
  weightOf(tenant: string): number;
}

const PRIORITIES = 3;

class TenantQueue {
  /** One heap per priority, keyed by created_at then seq. */
  readonly heaps = Array.from({ length: PRIORITIES }, () => new SeqHeap(16));
  /** Smooth weighted round-robin credit. */
  credit = 0;
  size = 0;
}

export class ReadyQueue {
  private readonly tenants = new Map<string, TenantQueue>();
  private count = 0;

  constructor(private readonly policy: ReadyPolicy) {}

  get size(): number {
    return this.count;
  }

  sizeByPriority(): number[] {
    const out = new Array(PRIORITIES).fill(0);
    for (const t of this.tenants.values()) t.heaps.forEach((h, p) => (out[p] += h.size));
    return out;
  }

  tenantsWithWork(): string[] {
    return [...this.tenants.entries()].filter(([, t]) => t.size > 0).map(([name]) => name);
  }

  push(e: ReadyEntry): void {
    let t = this.tenants.get(e.tenant);
    if (!t) this.tenants.set(e.tenant, (t = new TenantQueue()));
    t.heaps[clampPriority(e.priority)].push(e.createdAt, e.seq);
    t.size++;
    this.count++;
  }

  /** Takes a job out of its place (it is edited, or leaves the queue out of turn); false if absent. */
  remove(e: Pick<ReadyEntry, 'seq' | 'tenant' | 'priority'>): boolean {
    const t = this.tenants.get(e.tenant);
    if (!t || !t.heaps[clampPriority(e.priority)].remove(e.seq)) return false;
    t.size--;
    this.count--;
    if (t.size === 0) this.tenants.delete(e.tenant);
    return true;
  }

  /**
   * Takes these jobs out (a change of priority moves a job to another heap): one pass over each heap
   * they are in, however many they are. Returns the seqs that were here; a job that was not (parked,
   * set aside as unroutable) is left to whoever holds it.
   */
  removeMany(entries: { seq: number; tenant: string; priority: number }[]): Set<number> {
    const groups = new Map<TenantQueue, Map<number, Set<number>>>();
    for (const e of entries) {
      const t = this.tenants.get(e.tenant);
      if (!t) continue;
      let byHeap = groups.get(t);
      if (!byHeap) groups.set(t, (byHeap = new Map()));
      const p = clampPriority(e.priority);
      byHeap.set(p, (byHeap.get(p) ?? new Set()).add(e.seq));
    }
    const out = new Set<number>();
    for (const [t, byHeap] of groups)
      for (const [p, seqs] of byHeap)
        for (const seq of t.heaps[p].removeSeqs(seqs)) {
          out.add(seq);
          t.size--;
          this.count--;
        }
    for (const [name, t] of this.tenants) if (t.size === 0) this.tenants.delete(name);
    return out;
  }

  /** Removes and returns the next job to dispatch at `now`, or null when empty. */
  pop(now: number): ReadyEntry | null {
    if (this.count === 0) return null;
    let top = PRIORITIES - 1;
    for (const t of this.tenants.values())
      for (let p = 0; p < top; p++) if (t.heaps[p].size > 0) top = p;
    // Rule 1: the lowest class any tenant offers, and each tenant's best heap.
    let bestClass = Infinity;
    const offers: { name: string; t: TenantQueue; p: number; cls: number }[] = [];
    for (const [name, t] of this.tenants) {
      if (t.size === 0) continue;
      const best = this.bestOf(t, now, top);
      offers.push({ name, t, p: best.p, cls: best.cls });
      if (best.cls < bestClass) bestClass = best.cls;
    }
    const eligible = offers.filter((o) => o.cls === bestClass);
    // Rule 2: smooth weighted round-robin among those tenants (nginx's algorithm).
    let chosen = eligible[0];
    const weighted = eligible.filter((o) => this.policy.weightOf(o.name) > 0);
    if (weighted.length > 0) {
      let total = 0;
      chosen = weighted[0];
      for (const o of weighted) {
        const w = this.policy.weightOf(o.name);
        o.t.credit += w;
        total += w;
        if (o.t.credit > chosen.t.credit) chosen = o;
      }
      chosen.t.credit -= total;
    } else {
      // Only weight-0 tenants have work of this class: oldest head first.
      for (const o of eligible)
        if (o.t.heaps[o.p].peekKey() < chosen.t.heaps[chosen.p].peekKey()) chosen = o;
    }
    const heap = chosen.t.heaps[chosen.p];
    const createdAt = heap.peekKey();
    const seq = heap.pop();
    chosen.t.size--;
    this.count--;
    if (chosen.t.size === 0) this.tenants.delete(chosen.name);
    return { seq, tenant: chosen.name, priority: chosen.p, createdAt };
  }

  /** The next `limit` entries in dispatch order at `now`, leaving the queue as it was. */
  peek(now: number, limit: number): ReadyEntry[] {
    const credits = new Map([...this.tenants].map(([name, t]) => [name, t.credit]));
    const out: ReadyEntry[] = [];
    while (out.length < limit) {
      const e = this.pop(now);
      if (!e) break;
      out.push(e);
    }
    for (const e of out) this.push(e);
    for (const [name, credit] of credits) {
      const t = this.tenants.get(name);
      if (t) t.credit = credit;
    }
    return out;
  }

  /** The class of a job of `priority` created at `createdAt`, at `now`, when `top` is the highest priority queued (rule 1). */
  classOf(priority: number, createdAt: number, now: number, top = 0): number {
    const half = this.policy.maxStarvationMs() / 2;
    if (half <= 0) return priority;
    return Math.max(
      Math.min(top, priority),
      priority - Math.floor(Math.max(0, now - createdAt) / half),
    );
  }

  private bestOf(t: TenantQueue, now: number, top: number): { p: number; cls: number } {
    let best = { p: -1, cls: Infinity, key: Infinity, seq: Infinity };
    for (let p = 0; p < PRIORITIES; p++) {
      const h = t.heaps[p];
      if (h.size === 0) continue;
      const createdAt = h.peekKey();
      const cls = this.classOf(p, createdAt, now, top);
      // Rule 3: within the class, the oldest job, then the lowest seq.
      const key = createdAt;
      const seq = h.peekSeq();
      if (
        cls < best.cls ||
        (cls === best.cls && (key < best.key || (key === best.key && seq < best.seq)))
      )
        best = { p, cls, key, seq };
    }
    return best;
  }
}

function clampPriority(p: number): number {
  return Math.min(PRIORITIES - 1, Math.max(0, Math.trunc(p)));
}
