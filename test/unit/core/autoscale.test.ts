import { describe, expect, it } from 'vitest';
import {
  combine,
  evaluate,
  initialAutoscaleState,
  type AutoscaleAction,
  type AutoscalePolicy,
  type AutoscaleState,
  type Recommendation,
} from '../../../src/core/autoscale';
import { SecondGauge, trendOf } from '../../../src/core/series';

// The original project's defaults: HIGH 10, LOW 2, MIN 1, MAX 4, SCALE_DOWN_STABLE_SEC 30.
const POLICY: AutoscalePolicy = {
  high: 10,
  low: 2,
  minWorkers: 1,
  maxWorkers: 4,
  scaleDownStableSec: 30,
};
const T0 = 1_700_000_000_000;

function once(
  depth: number,
  live: number,
  trendPerSec: number | null = 0,
  state: AutoscaleState = initialAutoscaleState(),
  now = T0,
) {
  return evaluate(state, { now, depth, liveWorkers: live, trendPerSec }, POLICY);
}

/**
 * Replays a load trace one evaluation per second, fitting the trend over the last 60 s of depth as
 * the Durable Object does. `workers` may react to the advice (a simulated operator or webhook).
 */
function replay(
  depths: number[],
  opts: { live?: number; react?: (rec: Recommendation, live: number, t: number) => number } = {},
) {
  const gauge = new SecondGauge(600);
  let state = initialAutoscaleState();
  let live = opts.live ?? 2;
  const actions: AutoscaleAction[] = [];
  const changes: { t: number; rec: Recommendation }[] = [];
  depths.forEach((depth, t) => {
    const now = T0 + t * 1000;
    gauge.sample(now, depth);
    const ev = evaluate(
      state,
      { now, depth, liveWorkers: live, trendPerSec: trendOf(gauge, now, 60) },
      POLICY,
    );
    state = ev.state;
    actions.push(ev.recommendation.action);
    if (ev.changed) changes.push({ t, rec: ev.recommendation });
    if (opts.react) live = opts.react(ev.recommendation, live, t);
  });
  return { actions, changes, live };
}

/** A seeded PRNG so a failing trace can be replayed. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('autoscale policy: single decisions', () => {
  it.each([
    ['below MIN_WORKERS', 0, 0, 'scale_up', 1, /below MIN_WORKERS \(1\)/],
    ['above MAX_WORKERS', 0, 6, 'scale_down', 4, /above MAX_WORKERS \(4\)/],
    ['depth over HIGH', 11, 2, 'scale_up', 3, /exceeds QUEUE_THRESHOLD_HIGH \(10\)/],
    ['depth over HIGH at MAX', 50, 4, 'hold', 4, /at MAX_WORKERS/],
    ['depth exactly HIGH (must exceed)', 10, 2, 'hold', 2, /within thresholds/],
    ['dead band', 5, 2, 'hold', 2, /within thresholds/],
    ['below LOW, not yet stable', 0, 2, 'hold', 2, /for 0s of 30s/],
    ['below LOW at MIN_WORKERS', 0, 1, 'hold', 1, /MIN_WORKERS/],
  ] as const)('%s', (_name, depth, live, action, desired, reason) => {
    const { recommendation, changed } = once(depth, live);
    expect(recommendation).toMatchObject({
      action,
      desired_workers: desired,
      current_workers: live,
      queue_depth: depth,
    });
    expect(recommendation.reason).toMatch(reason);
    expect(changed).toBe(true);
  });

  it('scales down one worker once depth has stayed below LOW for SCALE_DOWN_STABLE_SEC', () => {
    let ev = once(1, 3);
    expect(ev.recommendation.action).toBe('hold');
    ev = once(0, 3, 0, ev.state, T0 + 29_999);
    expect(ev.recommendation.action).toBe('hold');
    ev = once(1, 3, 0, ev.state, T0 + 30_000);
    expect(ev.recommendation).toMatchObject({ action: 'scale_down', desired_workers: 2 });
    expect(ev.recommendation.reason).toMatch(/below QUEUE_THRESHOLD_LOW \(2\) for 30s/);
    // The worker count changed: the next step down needs a fresh stable period.
    ev = once(0, 2, 0, ev.state, T0 + 31_000);
    expect(ev.recommendation.action).toBe('hold');
    ev = once(0, 2, 0, ev.state, T0 + 61_000);
    expect(ev.recommendation).toMatchObject({ action: 'scale_down', desired_workers: 1 });
  });

  it('a depth at or above LOW restarts the stable clock', () => {
    let ev = once(0, 3);
    ev = once(2, 3, 0, ev.state, T0 + 20_000);
    ev = once(0, 3, 0, ev.state, T0 + 40_000);
    expect(ev.recommendation.action).toBe('hold');
    ev = once(0, 3, 0, ev.state, T0 + 70_000);
    expect(ev.recommendation.action).toBe('scale_down');
  });

  it('uses the trend: scales up early on a fast rise, holds on a fast drain', () => {
    const rising = once(6, 2, 0.2); // +12/min: about 18 in a minute
    expect(rising.recommendation.action).toBe('scale_up');
    expect(rising.recommendation.reason).toMatch(/rising \+12\/min/);
    expect(rising.recommendation.trend_per_min).toBe(12);
    const draining = once(12, 2, -0.5);
    expect(draining.recommendation.action).toBe('hold');
    expect(draining.recommendation.reason).toMatch(/draining/);
    expect(once(6, 2, 0.01).recommendation.action).toBe('hold');
  });

  it('reports no change while the advice stays the same, and keeps its first moment', () => {
    const a = once(20, 2);
    const b = once(25, 2, 0, a.state, T0 + 5000);
    expect(b.changed).toBe(false);
    expect(b.recommendation.since).toBe(T0);
    const c = once(25, 3, 0, b.state, T0 + 6000);
    expect(c.changed).toBe(true); // desired workers moved on: a new recommendation
    expect(c.recommendation).toMatchObject({
      action: 'scale_up',
      desired_workers: 4,
      since: T0 + 6000,
    });
  });
});

describe('autoscale policy over load traces', () => {
  it('a burst: scales up step by step while the queue is high, then down one step per stable period', () => {
    const depths = [
      ...Array(20).fill(0),
      ...Array.from({ length: 60 }, (_, i) => Math.min(40, i * 2)),
      ...Array.from({ length: 40 }, (_, i) => Math.max(0, 40 - i * 2)),
      ...Array(150).fill(0),
    ];
    // A webhook receiver that follows the advice ten seconds later.
    const pending: { at: number; to: number }[] = [];
    const { changes, live } = replay(depths, {
      live: 1,
      react: (rec, current, t) => {
        if (rec.action !== 'hold' && !pending.some((p) => p.to === rec.desired_workers))
          pending.push({ at: t + 10, to: rec.desired_workers });
        const due = pending.filter((p) => p.at <= t);
        for (const d of due) pending.splice(pending.indexOf(d), 1);
        return due.length ? due[due.length - 1].to : current;
      },
    });
    const ups = changes.filter((c) => c.rec.action === 'scale_up');
    const downs = changes.filter((c) => c.rec.action === 'scale_down');
    expect(ups.map((c) => c.rec.desired_workers)).toEqual([2, 3, 4]);
    expect(Math.max(...changes.map((c) => c.rec.desired_workers))).toBeLessThanOrEqual(
      POLICY.maxWorkers,
    );
    expect(downs.length).toBeGreaterThanOrEqual(2);
    // Each step down is at least SCALE_DOWN_STABLE_SEC after the previous one.
    for (let i = 1; i < downs.length; i++)
      expect(downs[i].t - downs[i - 1].t).toBeGreaterThanOrEqual(POLICY.scaleDownStableSec);
    // No scale_down while the queue was high, and no scale_up once it had drained.
    for (const d of downs) expect(depths[d.t]).toBeLessThan(POLICY.low);
    for (const u of ups) expect(depths[u.t]).toBeGreaterThan(POLICY.low);
    expect(live).toBe(POLICY.minWorkers);
  });

  it('does not flap on noise around QUEUE_THRESHOLD_HIGH', () => {
    const rand = mulberry32(7);
    const depths = Array.from({ length: 600 }, () => 10 + Math.round((rand() - 0.5) * 6)); // 7..13
    const naive = depths.reduce(
      (n, d, i) => n + (i > 0 && d > 10 !== depths[i - 1] > 10 ? 1 : 0),
      0,
    );
    const { changes } = replay(depths, { live: 2 });
    expect(naive).toBeGreaterThan(100); // a threshold alone would flip hundreds of times
    expect(changes.length).toBeLessThanOrEqual(3);
  });

  it('does not flap on noise around QUEUE_THRESHOLD_LOW', () => {
    const rand = mulberry32(11);
    const depths = Array.from({ length: 600 }, () => Math.round(rand() * 4)); // 0..4 around LOW 2
    const { changes } = replay(depths, { live: 3 });
    const downs = changes.filter((c) => c.rec.action === 'scale_down');
    for (let i = 1; i < changes.length; i++) {
      // Any change into scale_down is at least a stable period after the previous change.
      if (changes[i].rec.action === 'scale_down')
        expect(changes[i].t - changes[i - 1].t).toBeGreaterThanOrEqual(POLICY.scaleDownStableSec);
    }
    expect(downs.length).toBeLessThanOrEqual(1);
  });

  it('does not flap on a noisy rising trend in the dead band', () => {
    const rand = mulberry32(3);
    // Creeping from 3 to 9 with noise: never above HIGH.
    const depths = Array.from({ length: 300 }, (_, i) =>
      Math.max(0, Math.round(3 + (i / 300) * 6 + (rand() - 0.5) * 4)),
    );
    const { changes } = replay(depths, { live: 2 });
    expect(changes.length).toBeLessThanOrEqual(3);
  });

  it('is deterministic: the same trace gives the same advice', () => {
    const depths = Array.from({ length: 200 }, (_, i) => (i % 50 < 25 ? i % 50 : 0));
    expect(replay(depths).changes).toEqual(replay(depths).changes);
  });
});

describe('combine', () => {
  const rec = (action: AutoscaleAction, current: number, desired: number): Recommendation => ({
    action,
    reason: action,
    current_workers: current,
    desired_workers: desired,
    queue_depth: 0,
    trend_per_min: null,
    since: T0,
  });
  it('scales up if any queue needs it, down only if all can spare a worker', () => {
    expect(
      combine(
        [
          { queue: 'a', recommendation: rec('hold', 2, 2) },
          { queue: 'b', recommendation: rec('scale_up', 2, 3) },
        ],
        T0,
      ),
    ).toMatchObject({ action: 'scale_up', queue: 'b', reason: 'b: scale_up' });
    expect(
      combine(
        [
          { queue: 'a', recommendation: rec('scale_down', 2, 1) },
          { queue: 'b', recommendation: rec('hold', 2, 2) },
        ],
        T0,
      ).action,
    ).toBe('hold');
    expect(
      combine(
        [
          { queue: 'a', recommendation: rec('scale_down', 2, 1) },
          { queue: 'b', recommendation: rec('scale_down', 2, 1) },
        ],
        T0,
      ).action,
    ).toBe('scale_down');
    expect(combine([], T0)).toMatchObject({ action: 'hold', reason: 'no queues yet' });
  });
});
