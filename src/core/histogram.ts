/**
 * Cumulative-bucket histograms in the Prometheus shape (`le` upper bounds, a sum and a count), and
 * the quantile estimate Prometheus' `histogram_quantile()` makes from them, so /stats and the
 * dashboard show the same p50/p95 a Prometheus query would.
 */

/** Seconds from queued to running: sub-second when nodes are idle, minutes when the queue backs up. */
export const WAIT_BUCKETS_SEC: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];

/** Seconds from dispatch to result: jobs may run up to timeout_sec (at most 86400). */
export const RUN_BUCKETS_SEC: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
];

export interface HistogramSnapshot {
  /** Upper bounds, ascending; the implicit last bucket is +Inf. */
  bounds: number[];
  /** Cumulative counts: `counts[i]` observations were <= bounds[i]; `count` is the +Inf bucket. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  /** Per-bucket (not cumulative) counts; the last slot is the +Inf overflow. */
  private readonly buckets: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++)
      if (!(bounds[i] > bounds[i - 1]))
        throw new Error('histogram bounds must be strictly ascending');
    this.buckets = new Array(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const v = Math.max(0, value);
    let lo = 0;
    let hi = this.bounds.length;
    // The first bound >= v (Prometheus buckets are `le`, upper-inclusive).
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    this.buckets[lo]++;
    this.sum += v;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    const counts: number[] = [];
    let running = 0;
    for (let i = 0; i < this.bounds.length; i++) counts.push((running += this.buckets[i]));
    return { bounds: [...this.bounds], counts, sum: this.sum, count: this.count };
  }
}

/** Adds histograms with the same bounds (one per queue shard) into one. */
export function mergeHistograms(parts: HistogramSnapshot[]): HistogramSnapshot | null {
  if (parts.length === 0) return null;
  const bounds = parts[0].bounds;
  const out: HistogramSnapshot = {
    bounds: [...bounds],
    counts: new Array(bounds.length).fill(0),
    sum: 0,
    count: 0,
  };
  for (const p of parts) {
    if (p.bounds.length !== bounds.length || p.bounds.some((b, i) => b !== bounds[i]))
      throw new Error('cannot merge histograms with different bounds');
    p.counts.forEach((n, i) => (out.counts[i] += n));
    out.sum += p.sum;
    out.count += p.count;
  }
  return out;
}

/**
 * The q-quantile (0..1) by linear interpolation inside the bucket that holds it, as Prometheus'
 * `histogram_quantile` does; null with no observations. A quantile in the +Inf bucket is reported as
 * the highest finite bound (Prometheus does the same).
 */
export function quantile(h: HistogramSnapshot, q: number): number | null {
  if (h.count === 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * h.count;
  for (let i = 0; i < h.bounds.length; i++) {
    if (h.counts[i] >= rank) {
      const lower = i === 0 ? 0 : h.bounds[i - 1];
      const below = i === 0 ? 0 : h.counts[i - 1];
      const inBucket = h.counts[i] - below;
      if (inBucket === 0) return lower;
      return lower + (h.bounds[i] - lower) * ((rank - below) / inBucket);
    }
  }
  return h.bounds[h.bounds.length - 1];
}
