import type { Context, MiddlewareHandler } from 'hono';
import { MAX_BATCH_JOBS, MAX_PAYLOAD_BYTES } from '../../protocol/job';
import { MAX_RESULTS_BODY_BYTES } from '../../protocol/results';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';
import { limitBody } from './json-only';

/**
 * The largest body each path takes. Every entry whose pattern matches applies (the smallest wins),
 * as the path-scoped limits did before they were gathered here; a path no entry names (unknown
 * routes included) gets DEFAULT_BODY_LIMIT, so no request body is ever unbounded.
 */
const BODY_LIMITS: [RegExp, number][] = [
  [/^\/jobs\/batch$/, MAX_BATCH_JOBS * (MAX_PAYLOAD_BYTES + 1024) + 4096],
  [/^\/jobs(\/|$)/, 4 * 1024 * 1024],
  [/^\/jobs$/, 2 * MAX_PAYLOAD_BYTES + 4096],
  [/^\/schedules(\/|$)/, 2 * MAX_PAYLOAD_BYTES + 8192],
  // A node's results (wire version 2) carry outputs, as POST /jobs/:id/result does.
  [/^\/workers(\/|$)(?![^/]+\/(results|lease)$)/, 256 * 1024],
  [/^\/workers\/[^/]+\/(results|lease)$/, MAX_RESULTS_BODY_BYTES],
  [/^\/admin(\/|$)/, 16 * 1024],
  [/^\/dead-letters(\/|$)/, 64 * 1024],
];
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export function bodyLimitOf(path: string): number {
  const bounds = BODY_LIMITS.filter(([re]) => re.test(path)).map(([, n]) => n);
  return bounds.length ? Math.min(...bounds) : DEFAULT_BODY_LIMIT;
}

const pathOf = (c: Context) => new URL(c.req.url).pathname;

/**
 * Before authentication, from the headers alone: a declared Content-Length over the path's limit
 * is a 413 without a byte of the body read. A body without a declared length cannot be judged
 * here; readBodyWithin bounds it once the caller is known.
 */
export function declaredBodyWithin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const length = c.req.header('content-length');
    const max = bodyLimitOf(pathOf(c));
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      const n = Number(length);
      if (Number.isFinite(n) && n > max)
        throw new ApiError(413, 'body_too_large', `the request body is over ${max} bytes`, {
          problems: [{ field: '(body)', message: `at most ${max} bytes` }],
        });
    }
    await next();
  };
}

/**
 * After authentication: the body is read with the path's bound (hono's bodyLimit buffers a body of
 * unknown length to count it, which is why this must not run before the caller is authenticated).
 */
export function readBodyWithin(): MiddlewareHandler<AppEnv> {
  return (c, next) => limitBody(bodyLimitOf(pathOf(c)))(c, next);
}
