/**
 * Retry pacing for calls to the API: capped exponential backoff with "equal jitter" (AWS Architecture
 * Blog, "Exponential Backoff and Jitter"), so a fleet of nodes that lost the API at the same moment
 * does not come back in lockstep.
 */

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based): uniform in [step/2, step], step = min(cap, base * 2^attempt). */
export function backoffDelay(attempt: number, { baseMs, capMs, random = Math.random }: BackoffOptions): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  // Half fixed, half random: "full" jitter can pick ~0 ms and hammer an API that is struggling.
  return Math.round(step / 2 + random() * (step / 2));
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
