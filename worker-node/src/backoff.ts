/**
 * Retry pacing for calls to the API: capped exponential backoff with "equal jitter" (AWS Architecture
 * Blog, "Exponential Backoff and Jitter"), so a fleet of nodes that lost the API at the same moment
 * does not come back in lockstep.
 */
import { retryDelayMs } from '../../src/core/backoff';

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (0-based): uniform in [step/2, step], step = min(cap, base *
 * 2^attempt); the scheduler's own backoff (src/core/backoff.ts) with its jitter on. Half fixed, half
 * random: "full" jitter can pick ~0 ms and hammer an API that is struggling.
 */
export function backoffDelay(
  attempt: number,
  { baseMs, capMs, random = Math.random }: BackoffOptions,
): number {
  return retryDelayMs(
    Math.min(attempt, 30),
    { baseSec: baseMs / 1000, maxSec: capMs / 1000, jitter: true },
    random,
  );
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
