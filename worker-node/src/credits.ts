/**
 * The node's grants to its queues (wire version 3, docs/protocol.md "Credits"). The rule of who gets
 * a slot is planGrants (src/core/credits.ts); this ledger keeps what each queue was told and said,
 * and orders the changes so that no queue can ever believe in more than the node has:
 *
 * - A raised grant counts at once; a lowered one counts at its old value until its queue answered
 *   the request that carried it (a dispatch it sent before may still be on its way), and so does
 *   every grant on a request not answered yet (requests may overtake each other). Raises come
 *   only out of slots no queue can believe are its own, so a slot moving from one queue to another
 *   goes out in two steps: the lower, and once answered, the raise.
 * - What a queue says it holds on the node (its answers' `standing.held`, dispatches on their way
 *   included) counts as held until it says otherwise.
 *
 * Grants go out on the messages the node sends anyway: every heartbeat and lease request carries all
 * of them, a results request those that changed. When a change is due and nothing is about to go,
 * `onChange` asks the node to send (a push node: a results request, with or without results).
 */
import { queueOfJobId } from '../../src/core/ids';
import { MAX_STREAK, planGrants, type QueueGrantState } from '../../src/core/credits';
import type { Credits, Standing } from '../../src/protocol/credits';
import type { Lease } from '../../src/protocol/worker';

interface QueueBook {
  /** The grant planGrants decided, at the last event: what `sent` moves towards. */
  planned: number;
  /** The grant last sent. */
  sent: number;
  /** The grant its last answer applied (the highest the queue may still be using, with `sent`). */
  acked: number;
  /** Leases the queue last said it holds here. */
  reported: number;
  queued: number;
  streak: number;
  /** A lease of this queue ended since the last plan: its slot is what is being decided. */
  freed: boolean;
}

export class CreditLedger {
  private readonly books = new Map<string, QueueBook>();
  /** Grants carried by requests not answered yet: any may still reach its queue, in any order. */
  private readonly inFlight = new Set<Credits>();
  /**
   * Jobs whose results an answer settled but whose leases the runner still lists, for the few
   * promise turns until it drops them: counted as held beside the answer's new leases, they made
   * the node raise its grant past its slots, and each raise fed the next (13 leases on a node of 1
   * slot and 1 prefetch, test/e2e/ordering.test.ts).
   */
  private readonly ending = new Set<string>();
  private turn = 0;

  constructor(
    queues: string[],
    /** Capacity plus prefetch: the grants never sum past it. */
    private readonly total: () => number,
    private readonly leases: () => Lease[],
    private readonly onChange: () => void,
  ) {
    for (const q of queues)
      this.books.set(q, {
        planned: 0,
        sent: 0,
        acked: 0,
        reported: 0,
        queued: 0,
        streak: 0,
        freed: false,
      });
    // The first grants, before any queue has said what waits there: the slots spread over the queues.
    this.replan();
  }

  /** The grants to carry: all of them, or those that changed. They count as sent from now. */
  take(all: boolean): Credits {
    const targets = this.targets();
    const out: Credits = {};
    for (const [q, book] of this.books) {
      const t = targets.get(q)!;
      if (!all && t === book.sent) continue;
      out[q] = t;
      book.sent = t;
    }
    this.inFlight.add(out);
    return out;
  }

  /** A request that carried `carried` failed: the node stops waiting for its answer. */
  lost(carried: Credits): void {
    this.inFlight.delete(carried);
  }

  /** Whether some grant should change: a results request is worth sending for it alone. */
  get pending(): boolean {
    const targets = this.targets();
    for (const [q, book] of this.books) if (targets.get(q) !== book.sent) return true;
    return false;
  }

  /** The answer to a request that carried `carried`: those grants are applied; `standing` is news. */
  answered(carried: Credits, standing: Standing | undefined, ended: string[] = []): void {
    this.inFlight.delete(carried);
    const held = new Set(this.leases().map((l) => l.job_id));
    for (const id of ended) if (held.has(id)) this.ending.add(id);
    for (const [q, c] of Object.entries(carried)) {
      const book = this.books.get(q);
      if (book) book.acked = c;
    }
    for (const [q, s] of Object.entries(standing ?? {})) {
      const book = this.books.get(q);
      if (!book) continue;
      book.reported = s.held;
      book.queued = s.queued;
    }
    this.update();
  }

  /** A lease of `queue` ended on the node. */
  freed(queue: string, jobId?: string): void {
    if (jobId !== undefined) this.ending.delete(jobId);
    const book = this.books.get(queue);
    if (book) book.freed = true;
    this.turn++;
    this.update();
  }

  /**
   * Leases or standings changed: plan again, and when a grant should change, say so. The plan is
   * made here only, at events, from the last plan: sending what it says never changes it, so the
   * node cannot talk itself into a loop of requests.
   */
  update(): void {
    this.replan();
    if (this.pending) this.onChange();
  }

  private replan(): void {
    const states = this.states();
    const plan = planGrants(this.total(), states, this.turn);
    this.noteStreaks(states, plan);
    for (const [q, b] of this.books) b.planned = plan.get(q)!;
  }

  private states(): QueueGrantState[] {
    const local = new Map<string, number>();
    for (const l of this.leases()) {
      if (this.ending.has(l.job_id)) continue;
      const q = queueOfJobId(l.job_id);
      local.set(q, (local.get(q) ?? 0) + 1);
    }
    return [...this.books].map(([queue, b]) => ({
      queue,
      held: Math.max(local.get(queue) ?? 0, b.reported),
      queued: b.queued,
      granted: b.planned,
      streak: b.streak,
    }));
  }

  /** The grants to send now: the plan, with raises held back to what no queue may still be using. */
  private targets(): Map<string, number> {
    const states = this.states();
    const total = this.total();
    // A queue may believe the grant its last answer applied, or any grant still on its way.
    const exposure = new Map(
      states.map((s) => {
        const b = this.books.get(s.queue)!;
        let e = Math.max(b.acked, b.sent, s.held);
        for (const c of this.inFlight) e = Math.max(e, c[s.queue] ?? 0);
        return [s.queue, e];
      }),
    );
    let used = [...exposure.values()].reduce((a, b) => a + b, 0);
    const out = new Map<string, number>();
    for (const s of states) {
      const b = this.books.get(s.queue)!;
      const want = b.planned;
      if (want <= b.sent) {
        out.set(s.queue, want);
        continue;
      }
      const expo = exposure.get(s.queue)!;
      const allowed = Math.min(want, expo + Math.max(0, total - used));
      const t = Math.max(b.sent, allowed);
      used += Math.max(0, t - expo);
      out.set(s.queue, t);
    }
    return out;
  }

  /** A queue that kept its freed slot while another with work waiting had none: one more in a row. */
  private noteStreaks(states: QueueGrantState[], plan: Map<string, number>): void {
    for (const s of states) {
      const b = this.books.get(s.queue)!;
      if (!b.freed) continue;
      b.freed = false;
      const starved = states.some(
        (p) => p !== s && p.queued > 0 && p.granted === 0 && p.held === 0,
      );
      if (plan.get(s.queue)! >= b.planned && starved && b.queued > 0)
        b.streak = Math.min(MAX_STREAK, b.streak + 1);
      else b.streak = 0;
    }
  }
}
