import type { EngineJob } from '../../src/core/engine/job';
import type { QueueControls } from '../../src/core/engine/flow';
import { rateLimitOf } from '../../src/core/rate-gate';

/**
 * The flow-control invariants of issue 17, checked from outside the engine on every dispatch pass:
 * no more than `limit` starts of a rate-limit key in any window of `period_sec` (the simulation's
 * clock), no start while the queue is paused, and no start that takes the queue's running count
 * above its cap. It keeps its own log of every start it saw, so it does not trust the engine's.
 */
export class FlowChecks {
  /** Every start of each rate-limit key, in time order. */
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly fail: (message: string) => void) {}

  pass(started: EngineJob[], after: EngineJob[], controls: QueueControls, now: number): void {
    if (started.length === 0) return;
    if (controls.paused) this.fail(`pass started ${started.length} jobs while paused`);
    const running = after.filter((j) => j.status === 'running').length;
    const cap = controls.concurrency_limit;
    if (cap !== null && running > cap)
      this.fail(`pass left ${running} jobs running > the queue's cap ${cap}`);
    for (const j of started) {
      const rate = rateLimitOf(j.rate_limit);
      if (!rate) continue;
      const log = this.starts.get(rate.key) ?? [];
      log.push(now);
      this.starts.set(rate.key, log);
      const periodMs = rate.period_sec * 1000;
      const inWindow = log.filter((t) => now - t < periodMs).length;
      if (inWindow > rate.limit)
        this.fail(
          `rate key ${rate.key}: ${inWindow} starts within ${rate.period_sec}s > limit ${rate.limit} (job ${j.id} at ${now})`,
        );
    }
  }

  /**
   * The queued jobs of rate-limit keys that must wait at `now`: all of a key whose window is full,
   * and of a key with room for r more, all but its first r in the key's order (priority, then age,
   * then submission: parked jobs come back in that order, as with concurrency keys, and aging does
   * not reorder them).
   */
  waiting(after: EngineJob[], now: number): Set<string> {
    const byKey = new Map<string, EngineJob[]>();
    for (const j of after) {
      const rate = rateLimitOf(j.rate_limit);
      if (j.status !== 'queued' || !rate) continue;
      byKey.set(rate.key, [...(byKey.get(rate.key) ?? []), j]);
    }
    const out = new Set<string>();
    for (const [key, jobs] of byKey) {
      const rate = rateLimitOf(jobs[0].rate_limit)!;
      const periodMs = rate.period_sec * 1000;
      const used = (this.starts.get(key) ?? []).filter((t) => now - t < periodMs).length;
      jobs.sort((a, b) => a.priority - b.priority || a.created_at - b.created_at || a.seq - b.seq);
      for (const j of jobs.slice(Math.max(0, rate.limit - used))) out.add(j.id);
    }
    return out;
  }

  /** Whether the controls let a pass start anything more: not paused, the cap not reached. */
  static canStartMore(controls: QueueControls, after: EngineJob[]): boolean {
    if (controls.paused) return false;
    const cap = controls.concurrency_limit;
    return cap === null || after.filter((j) => j.status === 'running').length < cap;
  }
}
