import { combine, type Recommendation } from '../core/autoscale';
import { mergeHistograms, quantile } from '../core/histogram';
import { dbOf } from '../db/client';
import { registryQueues } from './queue-fan-out';
import { countByStatus } from '../db/read-jobs';
import { JOB_STATUSES } from '../protocol/job';
import type { WorkerView } from '../protocol/worker';
import type { QueueStats } from '../protocol/queue-object';
import type { Series, TelemetrySnapshot } from '../protocol/telemetry';
import { schedulerFor, type AppEnv } from './context';
import { allWorkers } from './routes/workers';

export interface QueueObservation {
  queue: string;
  stats: QueueStats;
  /** The queue's counters, histograms, history and advice; null in a tenant's view (see below). */
  telemetry: TelemetrySnapshot | null;
}

export interface Observation {
  now: number;
  /** The operator's view (admin token or no keys configured), not a tenant's. */
  operator: boolean;
  queues: QueueObservation[];
  /** Every node with its URL and labels for the admin; none for a tenant, who sees the counts only. */
  workers: WorkerView[];
  registeredWorkers: number;
  liveWorkers: number;
  jobsByStatus: Record<string, number>;
}

/**
 * One look at every queue shard, the worker registry and D1's counts by status: what /stats,
 * /metrics and the dashboard are drawn from.
 *
 * `scope.tenant` is observeScope (context.ts), `scope.jobs` the readScope of D1's job counts. The
 * operator (`tenant` null) sees everything, and each look also feeds the depth history and the
 * autoscaling advice. A tenant sees only its own: the queues where it has jobs in flight, each with
 * the figures of its own jobs (the Scheduler object filters them, since tenants share a queue), and
 * no telemetry, because a queue's counters, histograms and history mix every tenant's jobs. Nodes
 * are shared infrastructure: a tenant gets their number, never their names, URLs or labels.
 */
export async function observeAll(
  env: AppEnv['Bindings'],
  scope: { tenant: string | null; jobs: string | null },
  heartbeatTimeoutSec: number,
): Promise<Observation> {
  const tenant = scope.tenant;
  const db = dbOf(env.DB);
  const queues = await registryQueues(env);
  const [shards, workers, byStatus] = await Promise.all([
    tenant === null
      ? Promise.all(
          queues.map(async (q) => ({ queue: q, ...(await schedulerFor(env, q).observe(q)) })),
        )
      : Promise.all(
          queues.map(async (q) => ({
            queue: q,
            stats: await schedulerFor(env, q).stats(q, tenant),
            telemetry: null,
          })),
        ).then((all) => all.filter((o) => Object.values(o.stats.by_status).some((n) => n > 0))),
    allWorkers(env),
    countByStatus(db, scope.jobs),
  ]);
  return {
    now: Date.now(),
    operator: tenant === null,
    queues: shards,
    workers: tenant === null ? workers : [],
    registeredWorkers: workers.length,
    liveWorkers: workers.filter((w) => w.heartbeat_age_sec <= heartbeatTimeoutSec).length,
    jobsByStatus: Object.fromEntries(JOB_STATUSES.map((s) => [s, byStatus[s] ?? 0])),
  };
}

export function depthOf(stats: QueueStats): number {
  return Object.values(stats.queued_by_priority).reduce((a, b) => a + b, 0);
}

/** The advice for the whole pool: scale up if any queue needs it, down only if every queue can spare a worker. */
export function overallAdvice(o: Observation): Recommendation & { queue: string | null } {
  const recs = o.queues.flatMap((q) =>
    q.telemetry?.autoscale ? [{ queue: q.queue, recommendation: q.telemetry.autoscale }] : [],
  );
  return combine(recs, o.now);
}

/** Wait (queued to running) p50/p95 per priority over every queue, seconds. */
export function waitQuantiles(
  o: Observation,
): Record<string, { p50: number | null; p95: number | null; count: number }> {
  const out: Record<string, { p50: number | null; p95: number | null; count: number }> = {};
  for (const p of ['0', '1', '2']) {
    const h = mergeHistograms(
      o.queues.map((q) => q.telemetry?.wait_by_priority[p]).filter((x) => x !== undefined),
    );
    out[p] = h
      ? { p50: round3(quantile(h, 0.5)), p95: round3(quantile(h, 0.95)), count: h.count }
      : { p50: null, p95: null, count: 0 };
  }
  return out;
}

/** Sums the shards' series point by point; they are aligned to the same absolute step boundaries. */
export function mergeSeries(parts: Series[]): Series | null {
  if (parts.length === 0) return null;
  const base = parts.reduce((a, b) => (b.start > a.start ? b : a));
  const out: Series = {
    start: base.start,
    step: base.step,
    finished: base.finished.map(() => 0),
    submitted: base.submitted.map(() => 0),
    depth: base.depth.map(() => null),
  };
  for (const p of parts) {
    const shift = (p.start - base.start) / base.step;
    for (let i = 0; i < out.finished.length; i++) {
      const j = i + shift;
      if (j < 0 || j >= p.finished.length) continue;
      out.finished[i] += p.finished[j];
      out.submitted[i] += p.submitted[j];
      const d = p.depth[j];
      if (d !== null) out.depth[i] = (out.depth[i] ?? 0) + d;
    }
  }
  return out;
}

function round3(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}
