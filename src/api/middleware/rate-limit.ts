import type { Context, MiddlewareHandler } from 'hono';
import { MAX_BATCH_JOBS } from '../../protocol/job';
import { tenantBucket } from '../../core/token-bucket';
import { rateBucketOf } from '../stubs';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';

/** POST paths that cost tokens here; a bulk action costs one, like a job (routes/bulk.ts spends more). */
const CREATING = new Set(['/jobs', '/jobs/batch', '/jobs/bulk']);

/**
 * RATE_LIMIT_JOBS_PER_MIN on job creation (0 = off), one token per job created: POST /jobs costs
 * one and POST /jobs/batch one per job (here, before validation, so a malformed request costs one
 * like any other); replays spend theirs through spendJobTokens once they know how many jobs they
 * make, and schedule ticks draw from the same bucket in the ScheduleKeeper. Over the limit: 429
 * `rate_limited` with Retry-After.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (c.req.method !== 'POST' || !CREATING.has(path)) return next();
    const cost = path === '/jobs/batch' ? await batchSize(c.req.json.bind(c.req)) : 1;
    await spendJobTokens(c, cost, cost > 1 ? `a batch of ${cost} jobs` : 'this job');
    await next();
  };
}

/**
 * Takes `cost` tokens from the caller's bucket or throws 429. The bucket is the tenant's for an API
 * key (every key of a tenant, and its schedules, share one allowance), the admin's for the admin
 * token, else the client address's (CF-Connecting-IP; one fixed key in local development).
 */
export async function spendJobTokens(
  c: Context<AppEnv>,
  cost: number,
  what: string,
): Promise<void> {
  const limit = c.get('config').RATE_LIMIT_JOBS_PER_MIN;
  if (limit === 0 || cost === 0) return;
  const key = bucketKeyOf(c);
  const decision = await rateBucketOf(c.env, key).take(cost, limit);
  if (!decision.ok) {
    const why =
      cost > limit
        ? `${what} is more than RATE_LIMIT_JOBS_PER_MIN (${limit}) allows at once: split it`
        : `${what} would exceed ${limit} jobs per minute; retry in ${decision.retryAfterSec}s`;
    throw new ApiError(
      429,
      'rate_limited',
      why,
      { limit_per_min: limit, cost, retry_after_sec: decision.retryAfterSec },
      {
        'Retry-After': String(decision.retryAfterSec),
        'RateLimit-Limit': String(limit),
        'RateLimit-Remaining': String(decision.remaining),
      },
    );
  }
  c.header('RateLimit-Limit', String(limit));
  c.header('RateLimit-Remaining', String(decision.remaining));
}

/** The caller's bucket: its tenant's for an API key, the admin's, else its address's. */
export function bucketKeyOf(c: Context<AppEnv>): string {
  return c.get('apiKeyId')
    ? tenantBucket(c.get('tenant'))
    : c.get('admin')
      ? 'admin'
      : `ip:${c.req.header('cf-connecting-ip') ?? 'local'}`;
}

/** Jobs in a batch body; a body that is not a batch costs one and is left to validation to refuse. */
async function batchSize(json: () => Promise<unknown>): Promise<number> {
  try {
    const body = (await json()) as { jobs?: unknown };
    return Array.isArray(body?.jobs) ? Math.min(Math.max(1, body.jobs.length), MAX_BATCH_JOBS) : 1;
  } catch {
    return 1;
  }
}
