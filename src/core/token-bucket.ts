/**
 * A token bucket for RATE_LIMIT_JOBS_PER_MIN: `limit` tokens, refilled continuously at limit/60 per
 * second, one token per job. A full minute's allowance may arrive in a burst; after that, jobs are
 * accepted at the steady rate. Pure: the state is a plain object and time is a parameter.
 */

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms since epoch. */
  at: number;
}

export type Take =
  | { ok: true; remaining: number; bucket: Bucket }
  | { ok: false; retryAfterSec: number; remaining: number; bucket: Bucket };

export function take(bucket: Bucket | null, cost: number, limitPerMin: number, now: number): Take {
  const perMs = limitPerMin / 60_000;
  const prev = bucket ?? { tokens: limitPerMin, at: now };
  const elapsed = Math.max(0, now - prev.at);
  const tokens = Math.min(limitPerMin, prev.tokens + elapsed * perMs);
  const current = { tokens, at: Math.max(now, prev.at) };
  if (cost <= tokens)
    return {
      ok: true,
      remaining: Math.floor(tokens - cost),
      bucket: { tokens: tokens - cost, at: current.at },
    };
  // More than a minute's allowance can never fit: say so with a full minute, the most honest wait.
  const retryAfterSec =
    cost > limitPerMin ? 60 : Math.max(1, Math.ceil((cost - tokens) / perMs / 1000));
  return { ok: false, retryAfterSec, remaining: Math.floor(tokens), bucket: current };
}

/**
 * The bucket key of a tenant. Every path that creates a tenant's jobs through its API keys or its
 * schedules draws from this one; the admin's key is `admin` and an address's `ip:<address>`.
 */
export const tenantBucket = (tenant: string) => `tenant:${tenant}`;
