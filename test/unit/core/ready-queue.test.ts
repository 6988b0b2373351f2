import { describe, expect, it } from 'vitest';
import { ReadyQueue, type ReadyEntry } from '../../../src/core/ready-queue';

const S = 60_000; // MAX_STARVATION_SEC = 60
const strict = (weights: Record<string, number> = {}) =>
  new ReadyQueue({ maxStarvationMs: () => 0, weightOf: (t) => weights[t] ?? 1 });
const aging = (weights: Record<string, number> = {}) =>
  new ReadyQueue({ maxStarvationMs: () => S, weightOf: (t) => weights[t] ?? 1 });

function drain(q: ReadyQueue, now: number, n = Infinity): number[] {
  const out: number[] = [];
  for (let e: ReadyEntry | null; out.length < n && (e = q.pop(now));) out.push(e.seq);
  return out;
}

describe('ReadyQueue: priority and FIFO', () => {
  it('dispatches 0s, then 1s, then 2s, FIFO within each', () => {
    const q = strict();
    const prios = [2, 1, 0, 1, 2, 0, 1, 0, 2, 1];
    prios.forEach((p, i) =>
      q.push({ seq: i + 1, tenant: 'default', priority: p, createdAt: 1000 + i }),
    );
    const expected = [0, 1, 2].flatMap((p) =>
      prios.map((pp, i) => (pp === p ? i + 1 : -1)).filter((s) => s > 0),
    );
    expect(q.peek(5000, 100)).toHaveLength(10);
    expect(q.peek(5000, 3).map((e) => e.seq)).toEqual(expected.slice(0, 3));
    expect(drain(q, 5000)).toEqual(expected);
    expect(q.size).toBe(0);
  });

  it('breaks equal timestamps by seq', () => {
    const q = aging();
    for (const seq of [5, 3, 9, 1]) q.push({ seq, tenant: 't', priority: 1, createdAt: 1000 });
    expect(drain(q, 1000)).toEqual([1, 3, 5, 9]);
  });

  it('keeps priority order in the normal case with aging on', () => {
    const q = aging();
    q.push({ seq: 1, tenant: 't', priority: 2, createdAt: 0 });
    q.push({ seq: 2, tenant: 't', priority: 0, createdAt: 10 });
    q.push({ seq: 3, tenant: 't', priority: 1, createdAt: 20 });
    expect(drain(q, 1000)).toEqual([2, 3, 1]);
  });

  it('counts by priority', () => {
    const q = strict();
    [0, 0, 1, 2, 2, 2].forEach((p, i) =>
      q.push({ seq: i, tenant: i % 2 ? 'a' : 'b', priority: p, createdAt: i }),
    );
    expect(q.sizeByPriority()).toEqual([2, 1, 3]);
  });
});

describe('ReadyQueue: aging', () => {
  it('raises a waiting job one class every S/2', () => {
    const q = aging();
    expect(q.classOf(2, 0, 0)).toBe(2);
    expect(q.classOf(2, 0, S / 2 - 1)).toBe(2);
    expect(q.classOf(2, 0, S / 2)).toBe(1);
    expect(q.classOf(2, 0, S)).toBe(0);
    expect(q.classOf(1, 0, 10 * S)).toBe(0);
    // A clock that jumps backwards never lowers a class.
    expect(q.classOf(2, 1000, 0)).toBe(2);
  });

  it('starts a low-priority job within S under a continuous high-priority flood', () => {
    const q = aging();
    let seq = 0;
    const low = ++seq;
    q.push({ seq: low, tenant: 't', priority: 2, createdAt: 0 });
    // Every 100 ms two high-priority jobs arrive and one is dispatched: the queue only grows.
    let startedAt = -1;
    for (let now = 0; now <= 2 * S && startedAt < 0; now += 100) {
      q.push({ seq: ++seq, tenant: 't', priority: 0, createdAt: now });
      q.push({ seq: ++seq, tenant: 't', priority: 0, createdAt: now });
      if (q.pop(now)!.seq === low) startedAt = now;
    }
    expect(startedAt).toBeGreaterThanOrEqual(S);
    expect(startedAt).toBeLessThanOrEqual(S + 100);
  });

  it('starves without aging, as strict priority does', () => {
    const q = strict();
    let seq = 0;
    q.push({ seq: ++seq, tenant: 't', priority: 2, createdAt: 0 });
    for (let now = 0; now <= 2 * S; now += 100) {
      q.push({ seq: ++seq, tenant: 't', priority: 0, createdAt: now });
      expect(q.pop(now)!.seq).not.toBe(1);
    }
  });
});

describe('ReadyQueue: fair share between tenants', () => {
  it('dispatches a second tenant within a few slots behind a 100k-job flood', () => {
    const q = aging();
    for (let i = 1; i <= 100_000; i++)
      q.push({ seq: i, tenant: 'flood', priority: 1, createdAt: 1000 });
    drain(q, 2000, 10);
    q.push({ seq: 100_001, tenant: 'small', priority: 1, createdAt: 2000 });
    const next = drain(q, 2000, 3);
    expect(next).toContain(100_001);
  });

  it('keeps sharing fairly when the flood has aged: aging only lifts a job past higher priorities', () => {
    const q = aging();
    for (let i = 1; i <= 1000; i++) q.push({ seq: i, tenant: 'flood', priority: 1, createdAt: 0 });
    q.push({ seq: 5000, tenant: 'small', priority: 1, createdAt: 10 * S });
    expect(q.classOf(1, 0, 10 * S, 1)).toBe(1);
    expect(drain(q, 10 * S, 3)).toContain(5000);
  });

  it('shares by weight', () => {
    const q = strict({ a: 3, b: 1 });
    for (let i = 0; i < 400; i++)
      q.push({ seq: i, tenant: i % 2 ? 'a' : 'b', priority: 1, createdAt: i });
    const first = q.peek(0, 100);
    const fromA = first.filter((e) => e.tenant === 'a').length;
    expect(fromA).toBe(75);
  });

  it('serves a weight-0 tenant only when nobody else has work of its class', () => {
    const q = strict({ bg: 0 });
    q.push({ seq: 1, tenant: 'bg', priority: 1, createdAt: 0 });
    for (let i = 2; i <= 5; i++) q.push({ seq: i, tenant: 'fg', priority: 1, createdAt: i });
    expect(drain(q, 10)).toEqual([2, 3, 4, 5, 1]);
  });

  it('still puts a higher class first across tenants', () => {
    const q = strict();
    q.push({ seq: 1, tenant: 'a', priority: 2, createdAt: 0 });
    q.push({ seq: 2, tenant: 'b', priority: 0, createdAt: 5 });
    expect(drain(q, 10)).toEqual([2, 1]);
  });

  it('leaves the queue unchanged after a peek', () => {
    const q = strict({ a: 2, b: 1 });
    for (let i = 0; i < 30; i++)
      q.push({ seq: i, tenant: ['a', 'b', 'c'][i % 3], priority: i % 3, createdAt: i });
    const peeked = q.peek(100, 30).map((e) => e.seq);
    expect(drain(q, 100)).toEqual(peeked);
  });
});
