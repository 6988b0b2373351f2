/**
 * A node's grants to its queues (wire version 3, docs/protocol.md "Credits"): how many of its leases
 * each queue's scheduler may hold on it. Pure, so the worker node's ledger and the unit tests share
 * it. The rule, with `total` the node's capacity plus prefetch:
 *
 * 1. A queue keeps at least what it holds (its leases are not taken back; a grant below them only
 *    stops new ones). What is left, `total` less everything held, is the node's free slots.
 * 2. A queue with work waiting keeps a free slot it already had (the next job of the same queue then
 *    comes back on the answer to its result, in one round trip), unless it has kept slots
 *    `MAX_STREAK` times in a row while another queue with work waiting had none: then it yields.
 * 3. The free slots left go one by one to queues with more waiting than they have free, the one
 *    with the fewest grants first (ties: rotating from `turn`).
 * 4. Then to any queue, fewest first, rotating: a job that arrives in an idle queue finds a slot.
 *
 * The sum of the grants never exceeds `total`, whatever the inputs. Moving a slot from one queue
 * to another is the ledger's to order safely (worker-node/src/credits.ts): a lowered grant counts at
 * its old value until its queue has answered.
 */

/** What the node knows of one queue. */
export interface QueueGrantState {
  queue: string;
  /** Leases of this queue the node counts on itself (and the queue, dispatches on their way). */
  held: number;
  /** Jobs waiting in the queue, as its last answer said (0 until it said). */
  queued: number;
  /** The grant it has now. */
  granted: number;
  /** Times in a row it kept a slot while another queue with work waiting had none. */
  streak: number;
}

/** How many slots in a row a queue keeps while another with work waiting has none, before it yields. */
export const MAX_STREAK = 32;

export function planGrants(
  total: number,
  queues: QueueGrantState[],
  turn = 0,
): Map<string, number> {
  const grant = new Map<string, number>();
  let free = total;
  for (const q of queues) {
    grant.set(q.queue, q.held);
    free -= q.held;
  }
  if (free <= 0 || queues.length === 0) return grant;
  const waiting = (q: QueueGrantState) => q.queued > grant.get(q.queue)! - q.held;
  const starved = (q: QueueGrantState) =>
    queues.some((p) => p !== q && p.queued > 0 && p.granted === 0 && p.held === 0);
  // 2. Sticky slots.
  for (const q of queues) {
    if (free === 0) break;
    if (q.queued === 0 || (q.streak >= MAX_STREAK && starved(q))) continue;
    const keep = Math.min(Math.max(0, q.granted - q.held), q.queued, free);
    grant.set(q.queue, grant.get(q.queue)! + keep);
    free -= keep;
  }
  // 3. To work waiting, then 4. to anyone.
  for (const eligible of [waiting, () => true]) {
    while (free > 0) {
      const next = fewest(queues, grant, turn, eligible);
      if (!next) break;
      grant.set(next.queue, grant.get(next.queue)! + 1);
      free--;
    }
  }
  return grant;
}

function fewest(
  queues: QueueGrantState[],
  grant: Map<string, number>,
  turn: number,
  eligible: (q: QueueGrantState) => boolean,
): QueueGrantState | null {
  let best: QueueGrantState | null = null;
  for (let k = 0; k < queues.length; k++) {
    const q = queues[(turn + k) % queues.length];
    if (!eligible(q)) continue;
    if (!best || grant.get(q.queue)! < grant.get(best.queue)!) best = q;
  }
  return best;
}
