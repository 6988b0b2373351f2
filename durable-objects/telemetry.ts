/**
 * What the scheduler counts for /metrics, /stats and the dashboard. In memory: counters restart at
 * zero when the object restarts, as Prometheus counters may (rate() handles resets).
 */
export interface TelemetrySnapshot {
  counters: Record<string, number>;
}

export class Telemetry {
  private readonly counters: Record<string, number> = {
    submitted: 0,
    dispatched: 0,
    completed: 0,
    failed: 0,
    retried: 0,
    requeued: 0,
    reaped: 0,
    cancelled: 0,
  };

  submitted(n: number, _now: number): void {
    this.counters.submitted += n;
  }

  /** `waitMs`: queued -> running, the dispatch latency. */
  dispatched(_waitMs: number, _priority: number, _now: number): void {
    this.counters.dispatched++;
  }

  /** `runMs`: running -> result. */
  completed(_runMs: number, _now: number): void {
    this.counters.completed++;
  }

  failed(_now: number): void {
    this.counters.failed++;
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

  snapshot(_now: number): TelemetrySnapshot {
    return { counters: { ...this.counters } };
  }
}
