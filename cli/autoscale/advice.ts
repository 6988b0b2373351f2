/**
 * The API's advice for the queues this machine's nodes serve, from either source: the per-queue
 * `autoscale_by_queue` of GET /stats, or the per-queue events of the signed scale webhook. Queues
 * are combined by the API's own rule (src/core/autoscale.ts `combine`): up if any queue needs it,
 * down only if every queue can spare a node.
 */
import { combine, type Recommendation } from '../../src/core/autoscale';
import type { Advice } from './decide';

/** One queue's advice as GET /stats and the webhook carry it (`since` is ISO in one, ms in the other). */
export interface WireAdvice {
  action: string;
  reason: string;
  current_workers: number;
  desired_workers: number;
  queue_depth?: number;
  trend_per_min?: number | null;
  since?: string | number;
}

const ACTIONS = new Set(['scale_up', 'scale_down', 'hold']);

/** A wire advice made safe to act on, or null when a field is missing or out of range. */
export function toRecommendation(w: unknown): Recommendation | null {
  if (typeof w !== 'object' || w === null) return null;
  const a = w as Partial<WireAdvice>;
  const count = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
  if (typeof a.action !== 'string' || !ACTIONS.has(a.action)) return null;
  if (!count(a.current_workers) || !count(a.desired_workers)) return null;
  const since = typeof a.since === 'string' ? Date.parse(a.since) : Number(a.since ?? 0);
  return {
    action: a.action as Recommendation['action'],
    reason: typeof a.reason === 'string' ? a.reason : '',
    current_workers: a.current_workers,
    desired_workers: a.desired_workers,
    queue_depth: count(a.queue_depth) ? a.queue_depth : 0,
    trend_per_min: typeof a.trend_per_min === 'number' ? a.trend_per_min : null,
    since: Number.isFinite(since) ? since : 0,
  };
}

/**
 * The combined advice over `queues`, from the latest advice per queue. A served queue the API has no
 * advice for yet (it never had a job) asks for nothing: it is left out. Null when no served queue has
 * advice: then only MIN_WORKERS applies.
 */
export function adviceFor(
  byQueue: ReadonlyMap<string, { rec: Recommendation; observedAt: number }>,
  queues: readonly string[],
): Advice | null {
  const known = queues.flatMap((q) => {
    const a = byQueue.get(q);
    return a ? [{ queue: q, recommendation: a.rec, observedAt: a.observedAt }] : [];
  });
  if (known.length === 0) return null;
  const c = combine(known, 0);
  return {
    action: c.action,
    current: c.current_workers,
    desired: c.desired_workers,
    reason: c.reason,
    queue: c.queue,
    // Up is driven by one queue: its observation is what counts. Down needs every queue: the
    // combined advice is no fresher than its stalest part.
    observedAt:
      c.action === 'scale_up' && c.queue !== null
        ? known.find((k) => k.queue === c.queue)!.observedAt
        : Math.min(...known.map((k) => k.observedAt)),
  };
}

/** The per-queue advice of a GET /stats answer; empty when it has none (a tenant key sees none). */
export function fromStats(body: unknown): Map<string, Recommendation> {
  const out = new Map<string, Recommendation>();
  const byQueue = (body as { autoscale_by_queue?: unknown } | null)?.autoscale_by_queue;
  if (typeof byQueue !== 'object' || byQueue === null) return out;
  for (const [queue, w] of Object.entries(byQueue)) {
    const rec = toRecommendation(w);
    if (rec) out.set(queue, rec);
  }
  return out;
}

/** A scale webhook event (durable-objects/scale-webhook.ts `ScaleEvent`): its queue and advice. */
export function fromEvent(body: unknown): { queue: string; rec: Recommendation } | null {
  const queue = (body as { queue?: unknown } | null)?.queue;
  if (typeof queue !== 'string' || queue === '') return null;
  const rec = toRecommendation(body);
  return rec ? { queue, rec } : null;
}
