/**
 * The node's grants to its queues (src/core/credits.ts) and the ledger that sends them
 * (worker-node/src/credits.ts): the grants never sum past the node's slots plus prefetch, slots go
 * where work waits, a queue keeps its slot for the next job of its own but yields it after a streak
 * while another starves, and a slot moves between queues only once the queue it leaves has answered.
 */
import { describe, expect, it } from 'vitest';
import { MAX_STREAK, planGrants, type QueueGrantState } from '../../../src/core/credits';
import { CreditLedger } from '../../../worker-node/src/credits';
import type { Lease } from '../../../src/protocol/worker';

const q = (queue: string, over: Partial<QueueGrantState> = {}): QueueGrantState => ({
  queue,
  held: 0,
  queued: 0,
  granted: 0,
  streak: 0,
  ...over,
});
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('planGrants', () => {
  it('spreads idle slots over the queues, never more than the node has', () => {
    const plan = planGrants(2, [q('a'), q('b'), q('c'), q('d')]);
    expect(sum(plan)).toBe(2);
    expect([...plan.values()].every((v) => v <= 1)).toBe(true);
  });

  it('gives free slots to queues with work waiting before idle ones', () => {
    const plan = planGrants(2, [q('a'), q('b', { queued: 5 }), q('c'), q('d', { queued: 1 })]);
    expect(Object.fromEntries(plan)).toEqual({ a: 0, b: 1, c: 0, d: 1 });
  });

  it('never takes back what a queue holds, even past the total', () => {
    const plan = planGrants(2, [q('a', { held: 2 }), q('b', { held: 1, queued: 3 })]);
    expect(Object.fromEntries(plan)).toEqual({ a: 2, b: 1 });
  });

  it('a queue with work waiting keeps its freed slot (its next job rides the result’s answer)', () => {
    const plan = planGrants(2, [
      q('a', { held: 1, granted: 2, queued: 9 }),
      q('b', { held: 0, granted: 0, queued: 9 }),
    ]);
    expect(Object.fromEntries(plan)).toEqual({ a: 2, b: 0 });
  });

  it(`after ${MAX_STREAK} kept slots in a row, while another queue starves, the slot moves`, () => {
    const plan = planGrants(2, [
      q('a', { held: 1, granted: 2, queued: 9, streak: MAX_STREAK }),
      q('b', { queued: 9 }),
    ]);
    expect(Object.fromEntries(plan)).toEqual({ a: 1, b: 1 });
  });

  it('a queue with nothing waiting does not keep a free slot another queue could use', () => {
    const plan = planGrants(1, [q('a', { granted: 1 }), q('b', { queued: 2 })]);
    expect(Object.fromEntries(plan)).toEqual({ a: 0, b: 1 });
  });

  it('holds its bound over many random states', () => {
    let seed = 7;
    const rnd = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
    for (let i = 0; i < 2000; i++) {
      const total = 1 + rnd(6);
      const states = Array.from({ length: 1 + rnd(5) }, (_, k) =>
        q(`q${k}`, { held: rnd(2), queued: rnd(4), granted: rnd(4), streak: rnd(MAX_STREAK + 1) }),
      );
      const plan = planGrants(total, states, rnd(5));
      const held = states.reduce((a, s) => a + s.held, 0);
      expect(sum(plan)).toBeLessThanOrEqual(Math.max(total, held));
      for (const s of states) expect(plan.get(s.queue)!).toBeGreaterThanOrEqual(s.held);
    }
  });
});

describe('CreditLedger', () => {
  function ledger(queues: string[], total: number) {
    const leases: Lease[] = [];
    let changes = 0;
    const l = new CreditLedger(
      queues,
      () => total,
      () => leases,
      () => changes++,
    );
    const hold = (queue: string, i: number) =>
      leases.push({ job_id: `${queue}.job${i}`, attempt: 1, token: 't' });
    const drop = (queue: string) => {
      leases.splice(
        leases.findIndex((x) => x.job_id.startsWith(`${queue}.`)),
        1,
      );
      l.freed(queue);
    };
    return { l, hold, drop, changes: () => changes };
  }

  it('its first grants spread the slots and sum to the total', () => {
    const { l } = ledger(['a', 'b', 'c', 'd'], 2);
    const first = l.take(true);
    expect(Object.keys(first)).toEqual(['a', 'b', 'c', 'd']);
    expect(Object.values(first).reduce((x, y) => x + y, 0)).toBe(2);
  });

  it('moves a slot in two steps: the lower first, the raise once the lowered queue answered', () => {
    const { l } = ledger(['a', 'b'], 1);
    const first = l.take(true);
    expect(first).toEqual({ a: 1, b: 0 });
    l.answered(first, { a: { queued: 0, held: 0 }, b: { queued: 3, held: 0 } });
    // a has nothing waiting, b has: a is lowered now, b not raised yet (a may still be using it).
    const step1 = l.take(false);
    expect(step1).toEqual({ a: 0 });
    expect(l.pending).toBe(false);
    l.answered(step1, { a: { queued: 0, held: 0 } });
    expect(l.take(false)).toEqual({ b: 1 });
  });

  it('counts what a queue says it holds (dispatches on their way) until it says otherwise', () => {
    const { l } = ledger(['a', 'b'], 1);
    const first = l.take(true);
    // a answers that it holds one lease on the node that the node has not seen yet.
    l.answered(first, { a: { queued: 0, held: 1 }, b: { queued: 3, held: 0 } });
    expect(l.take(false)).toEqual({});
    l.answered({}, { a: { queued: 0, held: 0 } });
    const next = l.take(false);
    expect(next).toEqual({ a: 0 });
  });

  it('never lets the queues together hold more than the total, whatever the order of messages', () => {
    let seed = 11;
    const rnd = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
    const queues = ['a', 'b', 'c'];
    let full = false;
    for (let run = 0; run < 20; run++) {
      const { l, hold, drop } = ledger(queues, 2);
      // Requests on their way: a queue applies a grant when the request arrives, answers later.
      const sent: Record<string, number>[] = [];
      const arrived: Record<string, number>[] = [];
      const believed = new Map(queues.map((x) => [x, 0]));
      const held = new Map(queues.map((x) => [x, 0]));
      let job = 0;
      for (let step = 0; step < 2000; step++) {
        const r = rnd(5);
        const x = queues[rnd(3)];
        if (r === 0) sent.push(l.take(rnd(2) === 0));
        else if (r === 1 && sent.length > 0) {
          const carried = sent.splice(rnd(sent.length), 1)[0];
          for (const [k, v] of Object.entries(carried)) believed.set(k, v);
          arrived.push(carried);
        } else if (r === 2 && arrived.length > 0) {
          const carried = arrived.splice(rnd(arrived.length), 1)[0];
          const standing = Object.fromEntries(
            Object.keys(carried).map((k) => [k, { queued: rnd(3), held: held.get(k)! }]),
          );
          l.answered(carried, standing);
        } else if (r === 3 && held.get(x)! < believed.get(x)!) {
          // The queue dispatches within what it believes it was granted.
          held.set(x, held.get(x)! + 1);
          hold(x, job++);
        } else if (r === 4 && held.get(x)! > 0) {
          held.set(x, held.get(x)! - 1);
          drop(x);
        }
        const running = [...held.values()].reduce((a, b) => a + b, 0);
        expect(running, `run ${run} step ${step}`).toBeLessThanOrEqual(2);
        full ||= running === 2;
      }
    }
    // The bound was reached, not merely never approached.
    expect(full).toBe(true);
  });
});
