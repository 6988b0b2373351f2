/**
 * What the scheduler counts for /metrics, /stats and the dashboard, and the autoscaling advice that
 * follows from it. In memory: counters restart at zero when the object restarts, as Prometheus
 * counters may (rate() handles resets); the rings cover the last ten minutes.
 */
import { Histogram, quantile, RUN_BUCKETS_SEC, WAIT_BUCKETS_SEC } from '../src/core/histogram';
import { SecondCounter, SecondGauge, trendOf } from '../src/core/series';
import {
  evaluate,
  initialAutoscaleState,
  type AutoscalePolicy,
  type AutoscaleState,
  type Evaluation,
  type Recommendation,
} from '../src/core/autoscale';
import type { Config } from '../src/env';
import {
  COST_COUNTERS,
  COUNTERS,
  HISTORY_SEC,
  SERIES_STEP_SEC,
  type CostCounter,
  type CounterName,
  type ProjectionLag,
  type Series,
  type TelemetrySnapshot,
} from '../src/protocol/telemetry';
import { announce } from './scale-webhook';

// Defined in src/protocol, where the API reads it too; scheduler.ts still imports it from here.
export type { TelemetrySnapshot };

/** Announces a new recommendation: the log line, and the scale webhook when one is configured. */
export type Announcer = (queue: string, rec: Recommendation, config: Config) => Promise<boolean>;

/** The part of a QueueStats (src/protocol/queue-object.ts) that `observe` reads. */
export interface ObservedStats {
  queued_by_priority: Record<string, number>;
  workers: { live: number };
}

const PRIORITIES = ['0', '1', '2'] as const;
/** Seconds of depth history the trend is fitted over. */
export const TREND_WINDOW_SEC = 60;

export class Telemetry {
  constructor(
    private readonly costs: () => Record<CostCounter, number> = () =>
      Object.fromEntries(COST_COUNTERS.map((c) => [c, 0])) as Record<CostCounter, number>,
    private readonly projection: () => ProjectionLag = () => ({ seconds: 0, pending: 0 }),
  ) {}

  private readonly counters: Record<CounterName, number> = Object.fromEntries(
    COUNTERS.map((c) => [c, 0]),
  ) as Record<CounterName, number>;
  private readonly wait = new Histogram(WAIT_BUCKETS_SEC);
  private readonly waitByPriority = new Map<string, Histogram>(
    PRIORITIES.map((p) => [p, new Histogram(WAIT_BUCKETS_SEC)]),
  );
  private readonly run = new Histogram(RUN_BUCKETS_SEC);
  private readonly perSecond = {
    submitted: new SecondCounter(HISTORY_SEC),
    dispatched: new SecondCounter(HISTORY_SEC),
    completed: new SecondCounter(HISTORY_SEC),
    failed: new SecondCounter(HISTORY_SEC),
  };
  private readonly depth = new SecondGauge(HISTORY_SEC);
  private autoscaleState: AutoscaleState = initialAutoscaleState();

  submitted(n: number, now: number): void {
    this.counters.submitted += n;
    this.perSecond.submitted.add(now, n);
  }

  /** `waitMs`: queued -> running, the dispatch latency. */
  dispatched(waitMs: number, priority: number, now: number): void {
    this.counters.dispatched++;
    this.perSecond.dispatched.add(now);
    const sec = Math.max(0, waitMs) / 1000;
    this.wait.observe(sec);
    this.waitByPriority.get(String(priority))?.observe(sec);
  }

  /** `runMs`: running -> result. */
  completed(runMs: number, now: number): void {
    this.counters.completed++;
    this.perSecond.completed.add(now);
    this.run.observe(Math.max(0, runMs) / 1000);
  }

  failed(now: number): void {
    this.counters.failed++;
    this.perSecond.failed.add(now);
  }

  retried(_now: number): void {
    this.counters.retried++;
  }

  requeued(_now: number): void {
    this.counters.requeued++;
  }

  reaped(_now: number): void {
    this.counters.reaped++;
  }

  cancelled(_now: number): void {
    this.counters.cancelled++;
  }

  /** Records the queue depth now; the chart and the trend carry it forward until the next sample. */
  sampleDepth(now: number, depth: number): void {
    this.depth.sample(now, depth);
  }

  /** Jobs per second the depth changed by over the last TREND_WINDOW_SEC; null with too few samples. */
  trend(now: number): number | null {
    return trendOf(this.depth, now, TREND_WINDOW_SEC);
  }

  /** Samples the depth and evaluates the autoscaling policy; `changed` says the advice is new. */
  advise(now: number, depth: number, liveWorkers: number, policy: AutoscalePolicy): Evaluation {
    this.sampleDepth(now, depth);
    const evaluation = evaluate(
      this.autoscaleState,
      { now, depth, liveWorkers, trendPerSec: this.trend(now) },
      policy,
    );
    this.autoscaleState = evaluation.state;
    return evaluation;
  }

  /**
   * One observation of the queue (each /stats, /metrics scrape and cron run makes one): samples the
   * depth, advises, and when the advice changed returns the announcement (log line and webhook) for
   * the caller to keep alive with waitUntil. `send` announces it (the Scheduler's goes through a
   * courier, durable-objects/courier.ts).
   */
  observe(
    now: number,
    queue: string,
    stats: ObservedStats,
    config: Config,
    send: Announcer = announce,
  ): { telemetry: TelemetrySnapshot; announcement: Promise<unknown> | null } {
    const depth = Object.values(stats.queued_by_priority).reduce((a, b) => a + b, 0);
    const advice = this.advise(now, depth, stats.workers.live, policyOf(config));
    const announcement = advice.changed
      ? send(queue, advice.recommendation, config).catch(() => false)
      : null;
    return { telemetry: this.snapshot(now), announcement };
  }

  snapshot(now: number): TelemetrySnapshot {
    const waitByPriority = Object.fromEntries(
      [...this.waitByPriority].map(([p, h]) => [p, h.snapshot()]),
    );
    return {
      counters: { ...this.counters },
      wait: this.wait.snapshot(),
      wait_by_priority: waitByPriority,
      run: this.run.snapshot(),
      wait_quantiles: Object.fromEntries(
        Object.entries(waitByPriority).map(([p, h]) => [
          p,
          { p50: quantile(h, 0.5), p95: quantile(h, 0.95), count: h.count },
        ]),
      ),
      last_minute: {
        submitted: this.perSecond.submitted.total(now, 60),
        dispatched: this.perSecond.dispatched.total(now, 60),
        completed: this.perSecond.completed.total(now, 60),
        failed: this.perSecond.failed.total(now, 60),
      },
      series: this.series(now),
      autoscale: this.autoscaleState.last,
      costs: this.costs(),
      projection: this.projection(),
    };
  }

  /** The last HISTORY_SEC at SERIES_STEP_SEC resolution, aligned to absolute step boundaries so shards merge. */
  private series(now: number): Series {
    const step = SERIES_STEP_SEC;
    const points = HISTORY_SEC / step;
    const nowSec = Math.floor(now / 1000);
    const start = (Math.floor(nowSec / step) - points + 1) * step;
    const depth = this.depth.range(start, start + points * step - 1);
    const out: Series = { start, step, finished: [], submitted: [], depth: [] };
    for (let i = 0; i < points; i++) {
      let finished = 0;
      let submitted = 0;
      for (let s = start + i * step; s < start + (i + 1) * step; s++) {
        finished += this.perSecond.completed.at(s) + this.perSecond.failed.at(s);
        submitted += this.perSecond.submitted.at(s);
      }
      out.finished.push(finished);
      out.submitted.push(submitted);
      // The value at the end of the point, or now for the point still in progress.
      out.depth.push(depth[Math.min(depth.length - 1, (i + 1) * step - 1, nowSec - start)] ?? null);
    }
    return out;
  }
}

export function policyOf(c: Config): AutoscalePolicy {
  return {
    high: c.QUEUE_THRESHOLD_HIGH,
    low: c.QUEUE_THRESHOLD_LOW,
    minWorkers: c.MIN_WORKERS,
    maxWorkers: c.MAX_WORKERS,
    scaleDownStableSec: c.SCALE_DOWN_STABLE_SEC,
  };
}
