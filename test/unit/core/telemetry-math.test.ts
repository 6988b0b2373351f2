import { describe, expect, it } from 'vitest';
import {
  Histogram,
  mergeHistograms,
  quantile,
  WAIT_BUCKETS_SEC,
} from '../../../src/core/histogram';
import { SecondCounter, SecondGauge, slopePerSec } from '../../../src/core/series';
import { take } from '../../../src/core/token-bucket';

const T0 = 1_700_000_000_000;

describe('Histogram', () => {
  it('counts into upper-inclusive buckets, cumulatively, with sum and count', () => {
    const h = new Histogram([1, 5, 10]);
    for (const v of [0.5, 1, 2, 5, 7, 100, -3]) h.observe(v);
    h.observe(Number.NaN);
    expect(h.snapshot()).toEqual({ bounds: [1, 5, 10], counts: [3, 5, 6], sum: 115.5, count: 7 });
  });

  it('estimates quantiles like histogram_quantile()', () => {
    const h = new Histogram([1, 2, 4]);
    for (let i = 0; i < 10; i++) h.observe(0.5); // 10 in (0,1]
    for (let i = 0; i < 10; i++) h.observe(1.5); // 10 in (1,2]
    const s = h.snapshot();
    expect(quantile(s, 0.5)).toBe(1);
    expect(quantile(s, 0.75)).toBe(1.5);
    expect(quantile(s, 0.25)).toBe(0.5);
    expect(quantile(new Histogram([1]).snapshot(), 0.5)).toBeNull();
    h.observe(100);
    expect(quantile(h.snapshot(), 1)).toBe(4); // the +Inf bucket reports the highest finite bound
  });

  it('merges shards with the same bounds and refuses different ones', () => {
    const a = new Histogram(WAIT_BUCKETS_SEC);
    const b = new Histogram(WAIT_BUCKETS_SEC);
    a.observe(0.02);
    b.observe(3);
    b.observe(3);
    const m = mergeHistograms([a.snapshot(), b.snapshot()])!;
    expect(m.count).toBe(3);
    expect(m.sum).toBeCloseTo(6.02);
    expect(m.counts[m.counts.length - 1]).toBe(3);
    expect(() => mergeHistograms([a.snapshot(), new Histogram([1]).snapshot()])).toThrow(
      /different bounds/,
    );
    expect(() => new Histogram([2, 1])).toThrow(/ascending/);
  });
});

describe('per-second series', () => {
  it('counts events per second and forgets what is older than the ring', () => {
    const c = new SecondCounter(60);
    c.add(T0, 2);
    c.add(T0 + 999);
    c.add(T0 + 30_000, 5);
    expect(c.total(T0 + 30_000, 60)).toBe(8);
    expect(c.total(T0 + 30_000, 10)).toBe(5);
    expect(c.total(T0 + 61_000, 60)).toBe(5); // the first second has rotated out
    c.add(T0 + 60_000); // same slot as T0, a new second: the old count is dropped
    expect(c.at(Math.floor(T0 / 1000))).toBe(0);
  });

  it('carries a gauge forward between samples', () => {
    const g = new SecondGauge(600);
    const s0 = Math.floor(T0 / 1000);
    expect(g.range(s0, s0 + 2)).toEqual([null, null, null]);
    g.sample(T0, 5);
    g.sample(T0 + 3000, 8);
    expect(g.range(s0 - 1, s0 + 5)).toEqual([null, 5, 5, 5, 8, 8, 8]);
    expect(g.range(s0 + 2, s0 + 3)).toEqual([5, 8]);
  });

  it('fits a slope in units per second', () => {
    expect(slopePerSec([0, 1, 2, 3])).toBeCloseTo(1);
    expect(slopePerSec([10, null, 6, 4])).toBeCloseTo(-2);
    expect(slopePerSec([5])).toBeNull();
    expect(slopePerSec([null, 3, 3])).toBe(0);
  });
});

describe('token bucket', () => {
  it('allows a minute of jobs, then the steady rate, and says when to retry', () => {
    let r = take(null, 3, 3, T0);
    expect(r).toMatchObject({ ok: true, remaining: 0 });
    r = take(r.bucket, 1, 3, T0 + 1000);
    expect(r).toMatchObject({ ok: false, retryAfterSec: 19 }); // one token every 20 s
    r = take(r.bucket, 1, 3, T0 + 20_000);
    expect(r.ok).toBe(true);
  });

  it('charges a batch per job and never lets a batch larger than the limit through', () => {
    const r = take(null, 100, 120, T0);
    expect(r).toMatchObject({ ok: true, remaining: 20 });
    const again = take(r.bucket, 30, 120, T0);
    expect(again).toMatchObject({ ok: false, retryAfterSec: 5 }); // 10 more tokens at 2 per second
    expect(take(null, 5, 3, T0)).toMatchObject({ ok: false, retryAfterSec: 60 });
  });
});
