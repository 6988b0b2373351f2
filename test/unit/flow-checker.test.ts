/**
 * The flow-control checker (test/chaos/flow-checker.ts) on small hand-made histories: each limit
 * it must flag, and the at-least-once re-runs and clock bounds it must not, so that a chaos run or a
 * benchmark that reports zero violations means the limits held.
 */
import { describe, expect, it } from 'vitest';
import { checkFlow, type FlowInput, type FlowSubmission } from '../chaos/flow-checker';
import type { Arrival } from '../chaos/flow-receiver';

const sub = (
  token: string,
  sentAt: number,
  extra: Partial<FlowSubmission> = {},
): FlowSubmission => ({
  token,
  sentAt,
  answeredAt: sentAt + 10,
  jobId: `job-${token}`,
  ...extra,
});
const call = (token: string, at: number, end: number | null = at + 100, cut = false): Arrival => ({
  token,
  at,
  end,
  cut,
});
const input = (o: Partial<FlowInput>): FlowInput => ({
  submissions: [],
  arrivals: [],
  pauses: [],
  jitterMs: 200,
  ...o,
});

const rate = { key: 'r', limit: 2, periodMs: 1000 };

describe('flow checker: rate limit per key', () => {
  const subs = ['a', 'b', 'c'].map((t) => sub(t, 0, { rate }));

  it('passes starts spaced to the limit', () => {
    const { counts, violations } = checkFlow(
      input({ submissions: subs, arrivals: [call('a', 100), call('b', 150), call('c', 1100)] }),
    );
    expect(violations).toEqual([]);
    expect(counts).toMatchObject({ rate_over: 0, rate_min_span_ms: 1000 });
  });

  it('flags a third start inside the window', () => {
    const { counts } = checkFlow(
      input({ submissions: subs, arrivals: [call('a', 100), call('b', 150), call('c', 600)] }),
    );
    expect(counts.rate_over).toBe(1);
  });

  it('allows the dispatch jitter at the window edge, not more', () => {
    const edge = [call('a', 100), call('b', 150), call('c', 850)]; // 750 ms after a: within 1000 - 200
    expect(checkFlow(input({ submissions: subs, arrivals: edge })).counts.rate_over).toBe(1);
    const jittered = [call('a', 100), call('b', 150), call('c', 920)]; // 820 ms: could be 1000 at the engine
    expect(checkFlow(input({ submissions: subs, arrivals: jittered })).counts.rate_over).toBe(0);
  });

  it('counts a re-run of the same job as a start', () => {
    const { counts } = checkFlow(
      input({
        submissions: subs.slice(0, 2),
        arrivals: [call('a', 100, 120, true), call('b', 150), call('a', 400)],
      }),
    );
    expect(counts).toMatchObject({ rate_over: 1, reruns: 1, runs: 2 });
  });

  it('keeps keys apart', () => {
    const other = sub('x', 0, { rate: { ...rate, key: 'other' } });
    const { counts } = checkFlow(
      input({
        submissions: [...subs.slice(0, 2), other],
        arrivals: [call('a', 100), call('b', 150), call('x', 160)],
      }),
    );
    expect(counts.rate_over).toBe(0);
  });
});

describe('flow checker: queue cap and pause', () => {
  const subs = ['a', 'b', 'c'].map((t) => sub(t, 0));

  it('flags a start while the cap was running, and reports the peak', () => {
    const arrivals = [call('a', 0, 500), call('b', 100, 500), call('c', 200, 300)];
    const { counts } = checkFlow(input({ submissions: subs, arrivals, queueCap: 2 }));
    expect(counts).toMatchObject({ cap_over: 1, max_running: 3 });
  });

  it('passes a start the moment another ended, and a call still held at the end', () => {
    const arrivals = [call('a', 0, 500), call('b', 100, null), call('c', 500, 600)];
    const { counts, violations } = checkFlow(input({ submissions: subs, arrivals, queueCap: 2 }));
    expect(violations).toEqual([]);
    expect(counts.max_running).toBe(2);
  });

  it('flags a start inside a pause, past the jitter', () => {
    const pauses = [{ from: 1000, to: 3000 }];
    const arrivals = [call('a', 1100), call('b', 2000), call('c', 3100)];
    const { counts, violations } = checkFlow(input({ submissions: subs, arrivals, pauses }));
    expect(counts.paused_starts).toBe(1);
    expect(violations.join('\n')).toContain('b started 1000 ms into a pause');
  });
});

describe('flow checker: debounce', () => {
  const debounce = { key: 'd1', delayMs: 1000 };
  const burst = [0, 200, 400].map((t, i) => sub(`d${i}`, t, { debounce }));

  it('passes one run of the last payload after the delay', () => {
    const { counts, violations } = checkFlow(
      input({ submissions: burst, arrivals: [call('d2', 1500)] }),
    );
    expect(violations).toEqual([]);
    expect(counts.runs).toBe(1);
  });

  it('flags a second run, an earlier payload and an early run', () => {
    const { counts } = checkFlow(
      input({ submissions: burst, arrivals: [call('d0', 300), call('d2', 1500)] }),
    );
    expect(counts).toMatchObject({ debounce_extra: 1, debounce_wrong: 1, debounce_early: 1 });
  });

  it('passes the run of any payload sent together with the last', () => {
    const together = [0, 5, 8].map((t, i) => sub(`t${i}`, t, { debounce, answeredAt: 900 }));
    const { violations } = checkFlow(
      input({ submissions: together, arrivals: [call('t1', 1100)] }),
    );
    expect(violations).toEqual([]);
  });

  it('flags a burst that never ran', () => {
    const { counts } = checkFlow(input({ submissions: burst, arrivals: [] }));
    expect(counts.not_run).toBe(1);
  });

  it('does not count a re-run of the one job, nor runs across a gap that may exceed the delay', () => {
    const late = sub('d3', 2000, { debounce, answeredAt: 2100 }); // 1600 ms after d2 was sent
    const { counts, violations } = checkFlow(
      input({
        submissions: [...burst, late],
        arrivals: [call('d2', 1500, 1510, true), call('d2', 1700), call('d3', 3200)],
      }),
    );
    expect(violations).toEqual([]);
    expect(counts).toMatchObject({ reruns: 1, debounce_extra: 0 });
  });
});

describe('flow checker: dedup', () => {
  const dedup = { key: 'u1', ttlMs: 10_000 };
  const group = [0, 500, 1000].map((t, i) =>
    sub(`u${i}`, t, { dedup, jobId: i === 2 ? 'job-other' : 'job-u0' }),
  );

  it('flags a second job run inside the window and an answer naming another job', () => {
    const { counts } = checkFlow(
      input({ submissions: group, arrivals: [call('u0', 50), call('u2', 1100)] }),
    );
    expect(counts).toMatchObject({ dedup_dup: 1, dedup_split: 1 });
  });

  it('passes re-runs of the first job, and a new job after the window', () => {
    const after = sub('u9', 20_000, { dedup, jobId: 'job-u9' });
    const { counts, violations } = checkFlow(
      input({
        submissions: [...group.map((s) => ({ ...s, jobId: 'job-u0' })), after],
        arrivals: [call('u0', 50, 60, true), call('u0', 900), call('u9', 20_100)],
      }),
    );
    expect(violations).toEqual([]);
    expect(counts).toMatchObject({ dedup_dup: 0, reruns: 1 });
  });

  it('passes a later payload run in place of the first, and flags a key with no run', () => {
    const same = group.map((s) => ({ ...s, jobId: 'job-u0' }));
    expect(checkFlow(input({ submissions: same, arrivals: [call('u1', 600)] })).violations).toEqual(
      [],
    );
    expect(checkFlow(input({ submissions: same })).counts.not_run).toBe(1);
  });

  it('flags a run nobody submitted', () => {
    const { counts } = checkFlow(input({ arrivals: [call('stranger', 0)] }));
    expect(counts.unknown_runs).toBe(1);
  });
});
