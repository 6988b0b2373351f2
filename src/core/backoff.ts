/**
 * Retry delay after the `failures`-th failure: 2^failures seconds times `baseSec`, capped at `maxSec`,
 * as the original scheduler did (2^retry seconds, capped). Jitter, when asked for, spreads retries of
 * jobs that failed together over [delay/2, delay] so they do not return as one herd.
 */
export interface BackoffPolicy {
  /** `exponential` (the default) doubles per failure; `fixed` waits `baseSec` every time. */
  type?: 'fixed' | 'exponential';
  baseSec: number;
  maxSec: number;
  jitter?: boolean;
}

export function retryDelayMs(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const raw =
    policy.type === 'fixed' ? policy.baseSec : policy.baseSec * 2 ** Math.max(0, failures);
  const exp = Math.min(policy.maxSec, raw);
  const sec = policy.jitter ? exp / 2 + (exp / 2) * random() : exp;
  return Math.round(sec * 1000);
}
