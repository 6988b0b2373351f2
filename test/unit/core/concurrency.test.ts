import { describe, expect, it } from 'vitest';
import { ConcurrencyGate } from '../../../src/core/concurrency';

describe('ConcurrencyGate', () => {
  it('holds a key at its limit and releases parked jobs in seq order', () => {
    const g = new ConcurrencyGate();
    expect(g.canStart('k', 2)).toBe(true);
    g.started('k');
    g.started('k');
    expect(g.canStart('k', 2)).toBe(false);
    expect(g.canStart('other', 2)).toBe(true);
    g.park('k', 9);
    g.park('k', 4);
    expect(g.parkedSize).toBe(2);
    g.finished('k');
    expect(g.unpark('k')).toBe(4);
    expect(g.runningOf('k')).toBe(1);
    g.finished('k');
    expect(g.unpark('k')).toBe(9);
    expect(g.unpark('k')).toBe(-1);
    expect(g.runningOf('k')).toBe(0);
    expect(g.parkedSize).toBe(0);
  });

  it('never limits jobs without a key or limit', () => {
    const g = new ConcurrencyGate();
    expect(g.canStart(null, null)).toBe(true);
    expect(g.canStart('k', null)).toBe(true);
    g.finished(null);
    expect(g.unpark(null)).toBe(-1);
  });

  it('with limit 1 behaves as a mutex per key', () => {
    const g = new ConcurrencyGate();
    g.started('user-1');
    expect(g.canStart('user-1', 1)).toBe(false);
    expect(g.canStart('user-2', 1)).toBe(true);
  });
});
