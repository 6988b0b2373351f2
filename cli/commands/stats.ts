/** `stats`: the GET /stats summary as a few readable lines. */
import type { Command } from 'commander';
import { printJson, type Ctx } from '../context';
import { formatDuration, percent, renderFields } from '../format';
import type { Runner } from '../program';

/**
 * The part of GET /stats this command reads. The full schema lives in src/api/routes/system.ts,
 * which is not importable without the Worker's runtime; every field is read defensively.
 */
export interface StatsView {
  queue_depth: number;
  queue_depth_by_priority?: Record<string, number>;
  workers: number;
  live_workers: number;
  jobs_by_status?: Record<string, number>;
  success_rate: number | null;
  oldest_queued_age_sec?: number | null;
  throughput?: {
    submitted: number;
    dispatched: number;
    succeeded: number;
    failed: number;
    finished_per_sec: number;
  };
  wait_by_priority?: Record<string, { p50: number | null; p95: number | null; count: number }>;
  autoscale?: { action: string; reason: string; current_workers: number; desired_workers: number };
  uptime_sec?: number;
  queues?: string[];
}

const pairs = (r: Record<string, number> | undefined) =>
  Object.entries(r ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
const secs = (s: number | null | undefined) =>
  s === null || s === undefined ? '-' : formatDuration(s * 1000);

export function renderStats(s: StatsView): string {
  const waits = Object.entries(s.wait_by_priority ?? {})
    .filter(([, w]) => w.count > 0)
    .map(([p, w]) => `p${p}: p50 ${secs(w.p50)} p95 ${secs(w.p95)} (${w.count})`)
    .join(', ');
  const t = s.throughput;
  return renderFields([
    [
      'queue depth',
      `${s.queue_depth}${s.queue_depth_by_priority ? ` (by priority: ${pairs(s.queue_depth_by_priority)})` : ''}`,
    ],
    ['oldest queued', secs(s.oldest_queued_age_sec)],
    ['workers', `${s.live_workers} live of ${s.workers}`],
    ['jobs', pairs(s.jobs_by_status) || '-'],
    ['success rate', percent(s.success_rate)],
    [
      'last minute',
      t
        ? `${t.submitted} submitted, ${t.dispatched} dispatched, ${t.succeeded} succeeded, ${t.failed} failed (${t.finished_per_sec}/s)`
        : undefined,
    ],
    ['queue wait', waits || undefined],
    [
      'autoscale',
      s.autoscale
        ? `${s.autoscale.action} (${s.autoscale.current_workers} → ${s.autoscale.desired_workers}): ${s.autoscale.reason}`
        : undefined,
    ],
    ['queues', s.queues?.join(', ') || undefined],
    ['uptime', s.uptime_sec === undefined ? undefined : secs(s.uptime_sec)],
  ]);
}

export function registerStats(program: Command, run: Runner): void {
  program
    .command('stats')
    .description('queue depth, workers, jobs by status, success rate, throughput')
    .action(
      run(async (ctx: Ctx) => {
        const answer = await ctx.client.call<StatsView>('GET', '/stats');
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(renderStats(answer));
      }),
    );
}
