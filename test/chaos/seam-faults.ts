/**
 * Faults at the seams between the Scheduler object, D1 and the cron (issue "No job runs twice, none
 * stalls"): the scheduled handler fired every few hundred milliseconds while results stream in, and
 * D1 failing transiently mid-transition, half the time after it took the write, so the outbox
 * retries land late. The checker's `rerun_after_success` and `d1_diverged` are the verdict on both.
 */
import type { Fault, PhaseContext } from './faults';
import { pause } from './pause';

/** Queues whose D1 writes fail (the API reads FAULT_D1_FAIL_QUEUES at start; suite.ts sets it). */
export const D1_FLAKY_QUEUES = ['chaos-d1-flaky', 'chaos-mixed'];
export const D1_FAIL_RATE = '0.3';

/**
 * GET /__scheduled (wrangler dev --test-scheduled) every 150 to 450 ms. Not /cdn-cgi/handler/scheduled:
 * with static assets ([assets] in wrangler.toml) wrangler hands that path to its asset router, which
 * has no scheduled handler and answers 500 "exception"; /__scheduled reaches the Worker's own.
 */
export const cronStorm: Fault = {
  name: 'cron-storm',
  async run(ctx: PhaseContext, signal: AbortSignal) {
    while (!signal.aborted) {
      const fired = await fetch(`${ctx.cluster.stack.api}/__scheduled`).catch(
        () => null, // the API may be restarting (mixed)
      );
      if (fired?.ok) ctx.note('fired the scheduled handler');
      await pause(150 + ctx.random() * 300, signal);
    }
  },
};

/**
 * The fault itself is inside the API (FAULT_D1_FAIL_RATE, durable-objects/outbox.ts): this phase
 * only has its queue named in FAULT_D1_FAIL_QUEUES, and counts the failures the API logged.
 */
export const d1Flaky: Fault = {
  name: 'd1-flaky',
  async run(ctx: PhaseContext, signal: AbortSignal) {
    let seen = 0;
    while (!signal.aborted) {
      await pause(1000, signal);
      const failures = ctx.cluster
        .apiChunks()
        .join('')
        .split('\n')
        .filter((l) => l.includes('"d1_fault_injected"')).length;
      for (; seen < failures; seen++) ctx.note('D1 refused a batch (injected)');
    }
  },
};
