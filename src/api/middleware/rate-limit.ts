import type { MiddlewareHandler } from 'hono';
import { MAX_BATCH_JOBS } from '../../protocol/job';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';

/**
 * RATE_LIMIT_JOBS_PER_MIN on job submission (0 = off): POST /jobs costs one, POST /jobs/batch one
 * per job. Keyed by API key when the request carries one, else by the client address
 * (CF-Connecting-IP; one fixed key in local development, where there is none). Over the limit: 429
 * `rate_limited` with Retry-After. It runs after authentication and before validation, so a
 * malformed request costs one like any other.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = c.get('config').RATE_LIMIT_JOBS_PER_MIN;
    const path = new URL(c.req.url).pathname;
    if (limit === 0 || c.req.method !== 'POST' || (path !== '/jobs' && path !== '/jobs/batch'))
      return next();
    const cost = path === '/jobs/batch' ? await batchSize(c.req.json.bind(c.req)) : 1;
    const apiKey = c.get('apiKeyId');
    const key = apiKey
      ? `key:${apiKey}`
      : c.get('admin')
        ? 'admin'
        : `ip:${c.req.header('cf-connecting-ip') ?? 'local'}`;
    const ns = c.env.RATE_LIMITER;
    const decision = await ns.get(ns.idFromName(key)).take(cost, limit);
    if (!decision.ok) {
      const what = cost > 1 ? `a batch of ${cost} jobs` : 'this job';
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
    await next();
    c.header('RateLimit-Limit', String(limit));
    c.header('RateLimit-Remaining', String(decision.remaining));
  };
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
