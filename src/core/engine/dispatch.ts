import type { ReadyQueue, ReadyEntry } from '../ready-queue';
import type { ConcurrencyGate } from '../concurrency';
import { rateLimitOf, type RateGate } from '../rate-gate';
import { canRun, unroutableReason, type EngineJob, type EngineNode } from './job';

/** A node that may take jobs now, and at most how many (a pull node's request asks for fewer). */
export interface Offer {
  node: EngineNode;
  max: number;
  /** Leases it may hold beyond its slots, queued on the node to start at once (a pull node's prefetch). */
  prefetch?: number;
  /**
   * Leases the node granted this queue (wire version 3): the most it may hold there, running or on
   * their way. The node keeps its grants to all its queues within its slots plus prefetch, so no
   * queue over-offers it; without a grant (an older node) the node's own slots bound the offer.
   */
  credit?: number;
}

/** What one pass reads and changes of the engine's state. */
export interface PassState {
  ready: ReadyQueue;
  gate: ConcurrencyGate;
  rates: RateGate;
  /** How many jobs the queue's controls let this pass start (flow.ts `startBudget`). */
  budget: number;
  unroutable: Map<number, string>;
  /** Where the round-robin over nodes resumes. */
  rr: { next: number };
  job(seq: number): EngineJob | null;
  running(nodeId: string): number;
  start(job: EngineJob, node: EngineNode): void;
}

/** How many jobs a pass may set aside (no offered node can take them now) before it stops. */
const MAX_DEFERRED_PER_PASS = 1000;

/**
 * Pops jobs in ready-queue order (ready-queue.ts: class, fair share, age) and gives each to the next
 * offered node, round-robin, that has a free slot and can run it. A job whose concurrency key is at
 * its limit is parked (it blocks nothing), and so is one whose rate-limit key has had its
 * `limit` starts in the last `period_sec` (rate-gate.ts), until the window has room; one no live node could ever run is set aside as
 * unroutable, with the reason; one only busy nodes could run keeps its place (pushed back with its
 * own key and seq). Free slots are the node's capacity less its running jobs, so the pass never
 * over-offers a node within this queue; and no more than the node's credit to this queue less what
 * the queue holds there, so several queues never over-offer it together.
 */
export function planDispatch(s: PassState, now: number, live: EngineNode[], offers: Offer[]): void {
  if (s.ready.size === 0) return;
  const nodes = offers.map((o) => o.node);
  const free = new Map(
    offers.map((o) => [
      o.node.id,
      Math.min(
        o.node.capacity + (o.prefetch ?? 0) - s.running(o.node.id),
        (o.credit ?? Infinity) - s.running(o.node.id),
        o.max,
      ),
    ]),
  );
  let totalFree = Math.min(
    s.budget,
    [...free.values()].reduce((sum, n) => sum + Math.max(0, n), 0),
  );
  const deferred: ReadyEntry[] = [];
  while (totalFree > 0 && s.ready.size > 0 && deferred.length < MAX_DEFERRED_PER_PASS) {
    const entry = s.ready.pop(now)!;
    const job = s.job(entry.seq);
    if (!job || job.status !== 'queued') continue;
    if (!s.gate.canStart(job.concurrency_key, job.concurrency_limit)) {
      s.gate.park(job.concurrency_key!, job.seq, parkRank(job));
      continue;
    }
    const rate = rateLimitOf(job.rate_limit);
    const until = rate && s.rates.blockedUntil(rate, now);
    if (rate && until !== null) {
      s.rates.park(rate, job.seq, parkRank(job), until);
      continue;
    }
    if (!live.some((w) => canRun(w, job))) {
      s.unroutable.set(job.seq, unroutableReason(job, live));
      continue;
    }
    let chosen: EngineNode | null = null;
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[(s.rr.next + k) % nodes.length];
      if ((free.get(node.id) ?? 0) > 0 && canRun(node, job)) {
        chosen = node;
        s.rr.next = (s.rr.next + k + 1) % nodes.length;
        break;
      }
    }
    if (!chosen) {
      deferred.push(entry);
      continue;
    }
    free.set(chosen.id, free.get(chosen.id)! - 1);
    totalFree--;
    s.start(job, chosen);
  }
  for (const e of deferred) s.ready.push(e);
}

/** Priority first, then age: a key's parked jobs come back in the order the ready queue would take them. */
function parkRank(job: EngineJob): number {
  // created_at is epoch ms (< 1e13), so the sum is exact in a double.
  return job.priority * 1e13 + job.created_at;
}
