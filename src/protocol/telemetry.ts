/**
 * What a queue's Scheduler object reports of itself (its `observe` RPC): counters, latency
 * histograms, the charts' series and what the object spent. The object fills it in
 * (durable-objects/telemetry.ts); /stats, /metrics and the dashboard read it (src/api/observe.ts),
 * so the shape and its constants live here, where both may import them (issue 14).
 */
import type { HistogramSnapshot } from '../core/histogram';
import type { Recommendation } from '../core/autoscale';

/** Seconds of history kept for the charts. */
export const HISTORY_SEC = 600;
/** Chart resolution: one point per this many seconds. */
export const SERIES_STEP_SEC = 5;

export const COUNTERS = [
  'submitted',
  'dispatched',
  'completed',
  'failed',
  'retried',
  'requeued',
  'reaped',
  'cancelled',
] as const;
export type CounterName = (typeof COUNTERS)[number];

/** What one queue's object spends (durable-objects/metering.ts counts it). */
export const COST_COUNTERS = [
  'storage_reads',
  'storage_writes',
  'd1_statements',
  'outbound_requests',
] as const;
export type CostCounter = (typeof COST_COUNTERS)[number];

export interface Series {
  /** Epoch seconds of the first point; point i covers [start + i*step, start + (i+1)*step). */
  start: number;
  step: number;
  /** Jobs finished (succeeded or failed) per point. */
  finished: number[];
  submitted: number[];
  /** Queue depth at the end of each point; null before the first sample. */
  depth: (number | null)[];
}

export interface TelemetrySnapshot {
  counters: Record<CounterName, number>;
  /** Queued to running, seconds, over every priority and per priority. */
  wait: HistogramSnapshot;
  wait_by_priority: Record<string, HistogramSnapshot>;
  /** Dispatch to success, seconds. */
  run: HistogramSnapshot;
  wait_quantiles: Record<string, { p50: number | null; p95: number | null; count: number }>;
  last_minute: { submitted: number; dispatched: number; completed: number; failed: number };
  series: Series;
  autoscale: Recommendation | null;
  /** Statements and requests the queue's object has spent since it started (metering.ts). */
  costs: Record<CostCounter, number>;
  /** How far D1 (the projection lists read) is behind the object: durable-objects/outbox.ts's `lag`. */
  projection: ProjectionLag;
}

/** The age in seconds of the oldest change D1 does not have yet (0 with none), and their count. */
export interface ProjectionLag {
  seconds: number;
  pending: number;
}
