/**
 * Per-second rings for the last few minutes: event counts (throughput) and gauge samples (queue
 * depth). Fixed memory, O(1) per event, time always passed in, so the same code serves the Durable
 * Object and plain-Node tests over synthetic traces.
 */

/** Counts per whole second over the last `capacity` seconds. */
export class SecondCounter {
  private readonly counts: Float64Array;
  /** The epoch second each slot currently holds; a slot of an older second counts as zero. */
  private readonly seconds: Float64Array;

  constructor(readonly capacity = 600) {
    this.counts = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity).fill(-1);
  }

  add(nowMs: number, n = 1): void {
    const s = Math.floor(nowMs / 1000);
    const i = s % this.capacity;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  at(second: number): number {
    const i = second % this.capacity;
    return this.seconds[i] === second ? this.counts[i] : 0;
  }

  /** Events in the last `windowSec` whole seconds, the current (partial) one included. */
  total(nowMs: number, windowSec: number): number {
    const end = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let s = end - Math.min(windowSec, this.capacity) + 1; s <= end; s++) sum += this.at(s);
    return sum;
  }
}

/**
 * The last value of a gauge per second. Between samples the gauge is taken to have kept its value
 * (queue depth only changes when something happens, and every observation records it).
 */
export class SecondGauge {
  private readonly values: Float64Array;
  private readonly seconds: Float64Array;
  private lastSecond = -1;
  private lastValue = 0;

  constructor(readonly capacity = 600) {
    this.values = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity).fill(-1);
  }

  sample(nowMs: number, value: number): void {
    const s = Math.floor(nowMs / 1000);
    if (s < this.lastSecond) return; // clocks do not go backwards here; ignore if they seem to
    const i = s % this.capacity;
    this.seconds[i] = s;
    this.values[i] = value;
    this.lastSecond = s;
    this.lastValue = value;
  }

  /**
   * One value per second for [fromSec, toSec], carried forward from the latest sample at or before
   * each second; null before the first sample the ring still holds.
   */
  range(fromSec: number, toSec: number): (number | null)[] {
    const out: (number | null)[] = [];
    let carry: number | null = null;
    // Find the value in force at fromSec: the latest retained sample before it.
    for (
      let s = fromSec - 1;
      s > fromSec - this.capacity && s > this.lastSecond - this.capacity;
      s--
    ) {
      const i = ((s % this.capacity) + this.capacity) % this.capacity;
      if (this.seconds[i] === s) {
        carry = this.values[i];
        break;
      }
    }
    for (let s = fromSec; s <= toSec; s++) {
      const i = ((s % this.capacity) + this.capacity) % this.capacity;
      if (s > this.lastSecond) carry = this.lastSecond >= 0 ? this.lastValue : null;
      else if (this.seconds[i] === s) carry = this.values[i];
      out.push(carry);
    }
    return out;
  }
}

/** Least-squares slope (units per second) of evenly spaced per-second points; nulls are skipped. */
export function slopePerSec(points: (number | null)[]): number | null {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  points.forEach((y, x) => {
    if (y === null) return;
    n++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  });
  if (n < 2) return null;
  const den = n * sxx - sx * sx;
  return den === 0 ? null : (n * sxy - sx * sy) / den;
}

/**
 * The trend of a gauge over the last `windowSec` seconds, in units per second; null until at least
 * half the window has been observed (a slope fitted on a few noisy seconds would flap the advice).
 */
export function trendOf(gauge: SecondGauge, nowMs: number, windowSec: number): number | null {
  const end = Math.floor(nowMs / 1000);
  const points = gauge.range(end - windowSec + 1, end);
  if (points.filter((p) => p !== null).length < Math.ceil(windowSec / 2)) return null;
  return slopePerSec(points);
}
