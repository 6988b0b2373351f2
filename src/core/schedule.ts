import { Cron } from 'croner';
import { TERMINAL_STATUSES, type JobStatus } from '../protocol/job';

/**
 * Recurring schedules, the pure part: cron validation, the next tick, which tick an alarm fires and
 * the overlap decision. Time is always a parameter (epoch ms); nothing here reads the clock. Cron
 * parsing is croner's (no dependencies, IANA time zones through Intl, optional seconds field).
 */

export const OVERLAP_POLICIES = ['allow', 'forbid'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/**
 * Missed ticks counted one by one before the count gives up; the tick fired is the latest one either
 * way. An every-second schedule that was down for a day would otherwise walk 86,400 ticks.
 */
export const MAX_COUNTED_MISSES = 10_000;

export interface CronSpec {
  cron: string;
  timezone: string;
}

/** Next and previous ticks of one schedule. The real one wraps croner; tests may pass arithmetic. */
export interface Ticker {
  /** The first tick strictly after `afterMs`, or null if there is none. */
  next(afterMs: number): number | null;
  /** The latest tick at or before `atMs`, or null. */
  latest(atMs: number): number | null;
}

function compile(spec: CronSpec): Cron {
  // 5 fields (minute precision) or 6 (seconds first); no year field. domAndDow false: a day-of-month
  // and a day-of-week both restricted match either, as in Vixie cron and Kubernetes.
  return new Cron(spec.cron.trim(), {
    timezone: spec.timezone,
    mode: '5-or-6-parts',
    domAndDow: false,
  });
}

/** Why a time zone is refused, or null when Intl knows it. */
export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return null;
  } catch {
    return `unknown time zone "${timezone}": use an IANA name such as UTC or Europe/Paris`;
  }
}

/** Why a cron expression is refused, or null. `nowMs` checks that it fires at all (no 30 February). */
export function cronProblem(cron: string, timezone = 'UTC', nowMs = 0): string | null {
  if (cron.trim() === '') return 'a cron expression is required';
  let c: Cron;
  try {
    c = compile({ cron, timezone });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return `not a cron expression (5 fields, or 6 with seconds first): ${message.replace(/^CronPattern: /, '')}`;
  }
  try {
    if (c.nextRun(new Date(nowMs)) === null) return 'the expression never fires';
  } catch {
    return null; // a bad time zone is reported on its own field
  }
  return null;
}

export function cronTicker(spec: CronSpec): Ticker {
  const c = compile(spec);
  return {
    next: (afterMs) => c.nextRun(new Date(afterMs))?.getTime() ?? null,
    // croner's previousRuns excludes a tick equal to the reference when it is a whole second, so ask
    // from one millisecond later: a tick exactly at `atMs` is due.
    latest: (atMs) => c.previousRuns(1, new Date(atMs + 1))[0]?.getTime() ?? null,
  };
}

export function nextTick(spec: CronSpec, afterMs: number): number | null {
  return cronTicker(spec).next(afterMs);
}

export type TickPlan =
  /** Nothing is due yet (or the clock went backwards): wait for `nextRunAt`, unchanged. */
  | { due: false; nextRunAt: number }
  /**
   * Fire one job for `tick`, then wait for `nextRunAt` (null: the expression has no further tick).
   * `missed` ticks between the stored next_run_at and `tick` are not fired.
   */
  | { due: true; tick: number; missed: number; missedCapped: boolean; nextRunAt: number | null };

/**
 * What an alarm does for one schedule whose stored next tick is `nextRunAt`, at `nowMs`.
 *
 * - `nowMs < nextRunAt`: nothing is due. This also covers a clock that jumped backwards: the schedule
 *   waits for the clock to reach next_run_at again, so a tick is never fired twice.
 * - A tick is due when `nextRunAt <= nowMs` (equal counts). If several ticks went by (the object was
 *   down, or an alarm was late), only the latest of them is fired: at most one catch-up job, as
 *   Kubernetes CronJob does. The rest are counted as missed.
 * - The next tick is the first one strictly after `nowMs`, so a catch-up never chains into another.
 */
export function planTick(nextRunAt: number, nowMs: number, ticker: Ticker): TickPlan {
  if (nowMs < nextRunAt) return { due: false, nextRunAt };
  let tick = nextRunAt;
  let missed = 0;
  let missedCapped = false;
  for (;;) {
    const after = ticker.next(tick);
    if (after === null || after > nowMs) break;
    if (missed >= MAX_COUNTED_MISSES) {
      // Too many to count: jump to the latest tick at or before now.
      missedCapped = true;
      tick = Math.max(after, ticker.latest(nowMs) ?? after);
      break;
    }
    missed++;
    tick = after;
  }
  return { due: true, tick, missed, missedCapped, nextRunAt: ticker.next(nowMs) };
}

export type OverlapDecision = 'fire' | 'skip';

/**
 * Kubernetes CronJob's concurrencyPolicy, Allow and Forbid: with `forbid`, a tick is skipped while the
 * schedule's previous job is not terminal (scheduled, queued, running or retrying). A previous job
 * that cannot be found (`null`) does not hold the schedule back.
 */
export function overlapDecision(
  policy: OverlapPolicy,
  previousJobStatus: JobStatus | null,
): OverlapDecision {
  if (policy === 'allow' || previousJobStatus === null) return 'fire';
  return TERMINAL_STATUSES.includes(previousJobStatus) ? 'fire' : 'skip';
}

/**
 * The idempotency key of one tick: the D1 `idempotency_keys` row that admits one job per tick. The
 * spaces keep it apart from every client key (X-Idempotency-Key is printable ASCII without spaces).
 */
export function tickKey(scheduleId: string, tick: number): string {
  return `schedule ${scheduleId} ${tick}`;
}
