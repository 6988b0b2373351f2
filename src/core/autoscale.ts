/**
 * Autoscaling advice from queue depth and its trend, the original project's heuristic made exact:
 * scale up when the queue exceeds QUEUE_THRESHOLD_HIGH (or is rising fast towards it), scale down
 * when it has stayed below QUEUE_THRESHOLD_LOW for SCALE_DOWN_STABLE_SEC, within MIN/MAX_WORKERS.
 *
 * Pure: the caller keeps the state between evaluations and passes the time in. Hysteresis keeps it
 * from flapping: the band between LOW and HIGH holds; once scale_up is advised it stays until depth
 * falls to the middle of the band; scale_down needs a full stable period below LOW at the current
 * worker count, so at most one step down per SCALE_DOWN_STABLE_SEC.
 */

export const AUTOSCALE_ACTIONS = ['scale_up', 'scale_down', 'hold'] as const;
export type AutoscaleAction = (typeof AUTOSCALE_ACTIONS)[number];

/** How far ahead the trend is projected when deciding whether a rising queue will cross HIGH. */
export const TREND_HORIZON_SEC = 60;

export interface AutoscalePolicy {
  high: number;
  low: number;
  minWorkers: number;
  maxWorkers: number;
  scaleDownStableSec: number;
}

export interface AutoscaleInput {
  now: number;
  /** Jobs waiting to be dispatched. */
  depth: number;
  /** Change of depth in jobs per second over the recent past; null when unknown. */
  trendPerSec: number | null;
  liveWorkers: number;
}

export interface Recommendation {
  action: AutoscaleAction;
  reason: string;
  current_workers: number;
  desired_workers: number;
  queue_depth: number;
  trend_per_min: number | null;
  /** When this recommendation (action and desired workers) was first made, ms since epoch. */
  since: number;
}

export interface AutoscaleState {
  last: Recommendation | null;
  /** Since when depth has been below LOW at the current worker count; null when it is not. */
  lowSince: number | null;
  workersSeen: number | null;
}

export const initialAutoscaleState = (): AutoscaleState => ({
  last: null,
  lowSince: null,
  workersSeen: null,
});

export interface Evaluation {
  recommendation: Recommendation;
  /** True when action or desired worker count differ from the previous evaluation: log and notify. */
  changed: boolean;
  state: AutoscaleState;
}

export function evaluate(
  state: AutoscaleState,
  input: AutoscaleInput,
  policy: AutoscalePolicy,
): Evaluation {
  const { now, depth, liveWorkers: live } = input;
  const trend = input.trendPerSec;
  const { high, low, minWorkers: min, maxWorkers: max } = policy;

  // The stable-low clock restarts when the worker count changes: each step down is judged afresh.
  let lowSince = state.lowSince;
  if (depth >= low || (state.workersSeen !== null && state.workersSeen !== live)) lowSince = null;
  if (depth < low && lowSince === null) lowSince = now;

  const projected = trend === null ? depth : Math.max(0, depth + trend * TREND_HORIZON_SEC);
  const wasUp = state.last?.action === 'scale_up';
  const release = low + (high - low) / 2;

  let action: AutoscaleAction;
  let desired: number;
  let reason: string;
  const up = (why: string) => {
    action = 'scale_up';
    desired = Math.min(max, Math.max(live + 1, min));
    reason = why;
  };
  const hold = (why: string) => {
    action = 'hold';
    desired = live;
    reason = why;
  };

  if (live < min) {
    action = 'scale_up';
    desired = min;
    reason = `${live} live workers, below MIN_WORKERS (${min})`;
  } else if (live > max) {
    action = 'scale_down';
    desired = max;
    reason = `${live} live workers, above MAX_WORKERS (${max})`;
  } else if (depth > high) {
    if (live >= max)
      hold(
        `queue depth ${depth} exceeds QUEUE_THRESHOLD_HIGH (${high}) but workers are at MAX_WORKERS (${max})`,
      );
    else if (!wasUp && trend !== null && trend < 0 && projected <= high)
      hold(
        `queue depth ${depth} exceeds QUEUE_THRESHOLD_HIGH (${high}) but is draining (${fmtTrend(trend)}); projected ${Math.round(projected)} in ${TREND_HORIZON_SEC}s`,
      );
    else up(`queue depth ${depth} exceeds QUEUE_THRESHOLD_HIGH (${high})`);
  } else if (wasUp && live < max && (depth > release || (depth > low && projected > release))) {
    up(
      `queue depth ${depth} has not yet settled below ${release} (hysteresis under QUEUE_THRESHOLD_HIGH ${high})`,
    );
  } else if (depth > low && trend !== null && trend > 0 && projected > high && live < max) {
    up(
      `queue depth ${depth} rising ${fmtTrend(trend)}: projected ${Math.round(projected)} in ${TREND_HORIZON_SEC}s exceeds QUEUE_THRESHOLD_HIGH (${high})`,
    );
  } else if (depth < low && lowSince !== null) {
    const stableFor = (now - lowSince) / 1000;
    if (live <= min)
      hold(
        `queue depth ${depth} below QUEUE_THRESHOLD_LOW (${low}); workers at MIN_WORKERS (${min})`,
      );
    else if (stableFor >= policy.scaleDownStableSec) {
      action = 'scale_down';
      desired = Math.max(min, live - 1);
      reason = `queue depth below QUEUE_THRESHOLD_LOW (${low}) for ${Math.floor(stableFor)}s (SCALE_DOWN_STABLE_SEC ${policy.scaleDownStableSec})`;
    } else
      hold(
        `queue depth ${depth} below QUEUE_THRESHOLD_LOW (${low}) for ${Math.floor(stableFor)}s of ${policy.scaleDownStableSec}s`,
      );
  } else hold(`queue depth ${depth} within thresholds (${low}..${high})`);

  const last = state.last;
  const changed = !last || last.action !== action! || last.desired_workers !== desired!;
  const recommendation: Recommendation = {
    action: action!,
    reason: reason!,
    current_workers: live,
    desired_workers: desired!,
    queue_depth: depth,
    trend_per_min: trend === null ? null : round(trend * 60),
    since: changed || !last ? now : last.since,
  };
  return { recommendation, changed, state: { last: recommendation, lowSince, workersSeen: live } };
}

/**
 * One recommendation for several queues sharing the worker pool: scale up if any queue needs it,
 * down only if every queue can spare a worker, else hold.
 */
export function combine(
  recs: { queue: string; recommendation: Recommendation }[],
  now: number,
): Recommendation & { queue: string | null } {
  const ups = recs.filter((r) => r.recommendation.action === 'scale_up');
  const pick = ups.length
    ? ups.reduce((a, b) =>
        b.recommendation.desired_workers - b.recommendation.current_workers >
        a.recommendation.desired_workers - a.recommendation.current_workers
          ? b
          : a,
      )
    : null;
  if (pick)
    return {
      ...pick.recommendation,
      reason: `${pick.queue}: ${pick.recommendation.reason}`,
      queue: pick.queue,
    };
  if (recs.length > 0 && recs.every((r) => r.recommendation.action === 'scale_down')) {
    const first = recs[0];
    return {
      ...first.recommendation,
      reason:
        recs.length === 1
          ? first.recommendation.reason
          : `every queue can spare a worker (${first.queue}: ${first.recommendation.reason})`,
      queue: recs.length === 1 ? first.queue : null,
    };
  }
  const holding = recs.find((r) => r.recommendation.action === 'hold');
  if (holding)
    return {
      ...holding.recommendation,
      reason: `${holding.queue}: ${holding.recommendation.reason}`,
      queue: holding.queue,
    };
  return {
    action: 'hold',
    reason: recs.length ? 'queues disagree' : 'no queues yet',
    current_workers: 0,
    desired_workers: 0,
    queue_depth: 0,
    trend_per_min: null,
    since: now,
    queue: null,
  };
}

function fmtTrend(perSec: number): string {
  const perMin = round(perSec * 60);
  return `${perMin >= 0 ? '+' : ''}${perMin}/min`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
