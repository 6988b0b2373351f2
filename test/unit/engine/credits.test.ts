/**
 * The offer cap of wire version 3: a node's credit to a queue bounds what that queue's dispatch
 * passes give it, counting what the queue already holds there; without a credit the node's slots do.
 */
import { describe, expect, it } from 'vitest';
import { QueueEngine } from '../../../src/core/engine/engine';
import type { Offer } from '../../../src/core/engine/dispatch';
import { MemoryStore } from '../../sim/memory-store';
import { newJob, pushNode, unitSettings } from '../../sim/jobs';

const settings = unitSettings;
const node = pushNode;

function queueOf(jobs: number) {
  const store = new MemoryStore();
  let t = 0;
  const engine = new QueueEngine(
    store,
    () => settings,
    () => `tok${++t}`,
  );
  for (let seq = 1; seq <= jobs; seq++) {
    const job = { ...newJob(seq, 1000 + seq, 1, 1, 5, null), type: 'x' };
    store.insert(job);
    engine.accept(job);
  }
  /** One pass: the jobs each node got. */
  const pass = (now: number, offers: Offer[]) => {
    const got = new Map<string, number>();
    for (const e of engine.dispatch(
      now,
      offers.map((o) => o.node),
      offers,
    ))
      if (e.kind === 'dispatch') got.set(e.nodeId, (got.get(e.nodeId) ?? 0) + e.jobs.length);
    return got;
  };
  return { engine, pass };
}

describe('credits cap a queue’s offer to a node', () => {
  it('offers no more than the credit, less what the queue holds on the node', () => {
    const { engine, pass } = queueOf(10);
    const n = node('n', 4);
    expect(pass(1, [{ node: n, max: Infinity, credit: 1 }]).get('n')).toBe(1);
    // Still holding one: a credit of 1 leaves nothing, a credit of 3 leaves two.
    expect(pass(2, [{ node: n, max: Infinity, credit: 1 }]).get('n')).toBeUndefined();
    expect(pass(3, [{ node: n, max: Infinity, credit: 3 }]).get('n')).toBe(2);
    expect(engine.leases.running('n')).toBe(3);
    // A credit lowered below what is held takes nothing back and offers nothing.
    expect(pass(4, [{ node: n, max: Infinity, credit: 0 }]).get('n')).toBeUndefined();
    expect(engine.leases.running('n')).toBe(3);
  });

  it('never offers past the node’s slots, whatever the credit', () => {
    const { pass } = queueOf(10);
    expect(pass(1, [{ node: node('n', 2), max: Infinity, credit: 50 }]).get('n')).toBe(2);
  });

  it('without a credit (an older node) the slots alone bound the offer', () => {
    const { pass } = queueOf(10);
    expect(pass(1, [{ node: node('n', 3), max: Infinity }]).get('n')).toBe(3);
  });

  it('one node’s credit leaves another node’s offer alone', () => {
    const { pass } = queueOf(10);
    const got = pass(1, [
      { node: node('a', 4), max: Infinity, credit: 1 },
      { node: node('b', 4), max: Infinity },
    ]);
    expect(got.get('a')).toBe(1);
    expect(got.get('b')).toBe(4);
  });

  it('four queues under grants that sum to the slots together fill the node exactly', () => {
    const n = node('n', 2);
    const grants = [1, 1, 0, 0];
    const queues = grants.map(() => queueOf(5));
    const total = queues
      .map((q, i) => q.pass(1, [{ node: n, max: Infinity, credit: grants[i] }]).get('n') ?? 0)
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(2);
  });
});
