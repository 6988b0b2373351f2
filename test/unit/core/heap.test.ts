import { describe, expect, it } from 'vitest';
import { SeqHeap } from '../../../src/core/heap';

/** A tiny seeded PRNG so a failing randomized case can be replayed. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SeqHeap', () => {
  it('pops by key, then by seq (FIFO among equal keys)', () => {
    const h = new SeqHeap(2);
    const input: [number, number][] = [
      [1, 1],
      [2, 2],
      [0, 3],
      [1, 4],
      [0, 5],
      [2, 6],
      [1, 7],
    ];
    for (const [k, s] of input) h.push(k, s);
    const out = [];
    while (h.size) out.push(h.pop());
    expect(out).toEqual([3, 5, 1, 4, 7, 2, 6]);
    expect(h.pop()).toBe(-1);
    expect(h.peekKey()).toBe(Infinity);
  });

  it('orders the head without disturbing the heap', () => {
    const h = new SeqHeap();
    for (let i = 0; i < 50; i++) h.push(i % 3, i);
    const head = h.ordered(10);
    expect(head).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(h.size).toBe(50);
    expect(h.ordered(0)).toEqual([]);
    expect(h.ordered(100)).toHaveLength(50);
  });

  it('matches a sorted-array model under random pushes and pops', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = mulberry32(seed);
      const heap = new SeqHeap(1);
      const model: [number, number][] = [];
      let seq = 0;
      for (let step = 0; step < 2000; step++) {
        if (rand() < 0.6 || model.length === 0) {
          const key = Math.floor(rand() * 4);
          heap.push(key, ++seq);
          model.push([key, seq]);
          model.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        } else {
          expect(heap.peekSeq()).toBe(model[0][1]);
          expect(heap.pop()).toBe(model.shift()![1]);
        }
        expect(heap.size).toBe(model.length);
      }
      expect(heap.ordered(model.length)).toEqual(model.map((m) => m[1]));
    }
  });

  it('costs 16 bytes per slot', () => {
    const h = new SeqHeap(1024);
    for (let i = 0; i < 1024; i++) h.push(1, i);
    expect(h.byteLength).toBe(1024 * 16);
  });
});
