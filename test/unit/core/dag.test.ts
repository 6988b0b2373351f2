import { describe, expect, it } from 'vitest';
import { findCycle } from '../../../src/core/dag';

describe('findCycle', () => {
  it('finds none in a DAG, including a diamond and disconnected parts', () => {
    expect(findCycle([])).toBeNull();
    expect(findCycle([[], [0], [0], [1, 2], []])).toBeNull();
  });

  it('names the members of a cycle in order, and a self-loop', () => {
    expect(findCycle([[1], [2], [0]])).toEqual([0, 1, 2]);
    expect(findCycle([[], [2], [3], [1]])).toEqual([1, 2, 3]);
    expect(findCycle([[0]])).toEqual([0]);
    expect(findCycle([[1], [], [3], [2]])).toEqual([2, 3]);
  });

  it('walks a chain of 100,000 without overflowing the stack', () => {
    const chain = Array.from({ length: 100_000 }, (_, i) => (i + 1 < 100_000 ? [i + 1] : []));
    expect(findCycle(chain)).toBeNull();
    chain[99_999] = [0];
    expect(findCycle(chain)?.length).toBe(100_000);
  });
});
