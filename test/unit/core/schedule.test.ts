import { describe, expect, it } from 'vitest';
import {
  cronProblem,
  cronTicker,
  MAX_COUNTED_MISSES,
  nextTick,
  overlapDecision,
  planTick,
  tickKey,
  timezoneProblem,
  type Ticker,
} from '../../../src/core/schedule';
import { JOB_STATUSES, TERMINAL_STATUSES } from '../../../src/protocol/job';

const at = (iso: string) => Date.parse(iso);
const isoOf = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const utc = (cron: string) => ({ cron, timezone: 'UTC' });

/** The ticks after `fromIso`, n of them, as ISO strings. */
function ticks(cron: string, timezone: string, fromIso: string, n: number): string[] {
  const t = cronTicker({ cron, timezone });
  const out: string[] = [];
  let cur = at(fromIso);
  for (let i = 0; i < n; i++) {
    cur = t.next(cur)!;
    out.push(isoOf(cur)!);
  }
  return out;
}

describe('cron validation', () => {
  it.each([
    ['*/5 * * * *', null],
    ['0 9 * * MON-FRI', null],
    ['*/10 * * * * *', null],
    ['@hourly', null],
    ['0 0 29 2 *', null],
  ])('accepts %s', (cron, problem) => expect(cronProblem(cron)).toBe(problem));

  it.each([
    ['', /required/],
    ['not cron', /not a cron expression/],
    ['* * *', /not a cron expression/],
    ['61 * * * *', /minute/],
    ['*/0 * * * *', /stepping/],
    ['* * * * * * *', /5 or 6 parts/],
    ['0 0 30 2 *', /never fires/],
  ])('refuses %j', (cron, why) => expect(cronProblem(cron)).toMatch(why));

  it('knows IANA time zones through Intl', () => {
    expect(timezoneProblem('UTC')).toBeNull();
    expect(timezoneProblem('Europe/Paris')).toBeNull();
    expect(timezoneProblem('America/New_York')).toBeNull();
    expect(timezoneProblem('Mars/Olympus_Mons')).toMatch(/unknown time zone/);
    expect(timezoneProblem('')).toMatch(/unknown time zone/);
  });
});

describe('next tick', () => {
  it('every minute: strictly after the given moment, on the minute', () => {
    expect(ticks('* * * * *', 'UTC', '2026-01-01T00:00:00.000Z', 3)).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
      '2026-01-01T00:03:00.000Z',
    ]);
    expect(isoOf(nextTick(utc('* * * * *'), at('2026-01-01T00:00:59.999Z')))).toBe(
      '2026-01-01T00:01:00.000Z',
    );
  });

  it('equal timestamps: a moment that is itself a tick yields the following tick', () => {
    const t = at('2026-01-01T10:00:00.000Z');
    expect(isoOf(nextTick(utc('0 * * * *'), t))).toBe('2026-01-01T11:00:00.000Z');
    expect(isoOf(nextTick(utc('0 * * * *'), t - 1))).toBe('2026-01-01T10:00:00.000Z');
  });

  it('with seconds: six fields, seconds first', () => {
    expect(ticks('*/15 * * * * *', 'UTC', '2026-01-01T00:00:01.500Z', 4)).toEqual([
      '2026-01-01T00:00:15.000Z',
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:00:45.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
  });

  it('reads the fields in the schedule time zone', () => {
    // 09:00 in Paris is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST).
    expect(ticks('0 9 * * *', 'Europe/Paris', '2026-01-10T12:00:00Z', 1)).toEqual([
      '2026-01-11T08:00:00.000Z',
    ]);
    expect(ticks('0 9 * * *', 'Europe/Paris', '2026-07-10T12:00:00Z', 1)).toEqual([
      '2026-07-11T07:00:00.000Z',
    ]);
  });

  it('DST spring forward (New York, 8 March 2026): a time in the gap fires once, at the jump', () => {
    // 02:30 does not exist that day: clocks go from 02:00 EST to 03:00 EDT (07:00 UTC).
    expect(ticks('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 3)).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
    // An hourly schedule has one tick fewer that day: 01:00 EST, then 03:00 EDT.
    expect(ticks('0 * * * *', 'America/New_York', '2026-03-08T05:30:00Z', 3)).toEqual([
      '2026-03-08T06:00:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T08:00:00.000Z',
    ]);
  });

  it('DST fall back (New York, 1 November 2026): a fixed time fires once, an interval fires in both hours', () => {
    // 01:30 happens twice (EDT at 05:30 UTC, EST at 06:30 UTC): a daily job runs once, at the first.
    expect(ticks('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    // Every 30 minutes keeps going through the repeated hour: real time keeps passing.
    expect(ticks('*/30 * * * *', 'America/New_York', '2026-11-01T04:50:00Z', 5)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]);
  });

  it('latest tick at or before a moment includes a tick exactly at it', () => {
    const t = cronTicker(utc('* * * * *'));
    expect(isoOf(t.latest(at('2026-01-01T00:05:00.000Z')))).toBe('2026-01-01T00:05:00.000Z');
    expect(isoOf(t.latest(at('2026-01-01T00:05:59.999Z')))).toBe('2026-01-01T00:05:00.000Z');
  });
});

/** Arithmetic ticks every `period` ms from 0: a ticker without cron, to test the plan alone. */
function every(period: number): Ticker {
  return {
    next: (after) => (Math.floor(after / period) + 1) * period,
    latest: (atMs) => Math.floor(atMs / period) * period,
  };
}

describe('planTick: which tick an alarm fires', () => {
  const minute = every(60_000);

  it('is not due before next_run_at', () => {
    expect(planTick(120_000, 119_999, minute)).toEqual({ due: false, nextRunAt: 120_000 });
  });

  it('equal timestamps: due exactly at next_run_at, and the next tick is the one after', () => {
    expect(planTick(120_000, 120_000, minute)).toEqual({
      due: true,
      tick: 120_000,
      missed: 0,
      missedCapped: false,
      nextRunAt: 180_000,
    });
  });

  it('a late alarm within the same period fires that tick, no catch-up counted', () => {
    expect(planTick(120_000, 150_000, minute)).toEqual({
      due: true,
      tick: 120_000,
      missed: 0,
      missedCapped: false,
      nextRunAt: 180_000,
    });
  });

  it('a missed window fires one catch-up job for the latest tick, then continues after now', () => {
    // Down from 2:00 to 6:30: ticks 2, 3, 4, 5, 6 went by; fire 6 (the latest), count 4 missed, next is 7.
    expect(planTick(120_000, 390_000, minute)).toEqual({
      due: true,
      tick: 360_000,
      missed: 4,
      missedCapped: false,
      nextRunAt: 420_000,
    });
  });

  it('a clock that jumps backwards fires nothing and keeps next_run_at: no tick fires twice', () => {
    // Fired at 5:00 (next 6:00); the clock goes back to 3:10.
    const plan = planTick(360_000, 190_000, minute);
    expect(plan).toEqual({ due: false, nextRunAt: 360_000 });
    // When the clock reaches 6:00 again, the schedule goes on from there.
    expect(planTick(360_000, 360_000, minute)).toMatchObject({
      due: true,
      tick: 360_000,
      nextRunAt: 420_000,
    });
  });

  it('gives up counting a huge backlog but still fires only the latest tick', () => {
    const second = every(1_000);
    const now = (MAX_COUNTED_MISSES + 5_000) * 1_000 + 500;
    const plan = planTick(1_000, now, second);
    expect(plan).toMatchObject({
      due: true,
      tick: now - 500,
      missedCapped: true,
      nextRunAt: now + 500,
    });
  });

  it('works with real cron ticks: an hourly schedule down for three hours', () => {
    const t = cronTicker(utc('0 * * * *'));
    const plan = planTick(at('2026-01-01T10:00:00Z'), at('2026-01-01T13:20:00Z'), t);
    expect(plan).toEqual({
      due: true,
      tick: at('2026-01-01T13:00:00Z'),
      missed: 3,
      missedCapped: false,
      nextRunAt: at('2026-01-01T14:00:00Z'),
    });
  });

  it('an expression with no further tick leaves next_run_at empty', () => {
    const once: Ticker = {
      next: (after) => (after < 1_000 ? 1_000 : null),
      latest: (a) => (a >= 1_000 ? 1_000 : null),
    };
    expect(planTick(1_000, 5_000, once)).toEqual({
      due: true,
      tick: 1_000,
      missed: 0,
      missedCapped: false,
      nextRunAt: null,
    });
  });
});

describe('overlap decision', () => {
  it('allow always fires', () => {
    for (const s of [...JOB_STATUSES, null]) expect(overlapDecision('allow', s)).toBe('fire');
  });

  it('forbid skips while the previous job is not terminal', () => {
    for (const s of JOB_STATUSES)
      expect(overlapDecision('forbid', s)).toBe(TERMINAL_STATUSES.includes(s) ? 'fire' : 'skip');
    expect(overlapDecision('forbid', 'scheduled')).toBe('skip');
    expect(overlapDecision('forbid', 'retrying')).toBe('skip');
  });

  it('forbid fires when there is no previous job, or it is gone', () => {
    expect(overlapDecision('forbid', null)).toBe('fire');
  });
});

describe('tick key', () => {
  it('is one per (schedule, tick) and cannot collide with a client X-Idempotency-Key', () => {
    expect(tickKey('sch_A', 60_000)).toBe('schedule sch_A 60000');
    expect(tickKey('sch_A', 60_000)).not.toBe(tickKey('sch_A', 120_000));
    expect(/^[\x21-\x7e]{1,255}$/.test(tickKey('sch_A', 60_000))).toBe(false);
  });
});
