import type { MiddlewareHandler } from 'hono';
import { log } from '../../log';

/**
 * One trace line per request: method, path, status and time taken. Trace, below the per-job lines of
 * debug, because heartbeats, results and leases make several a second per node; `LOG_LEVEL=trace`
 * turns them on when following a problem. The query string is left out: a signed blob URL carries
 * its credential there.
 */
export function requestLog(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const started = Date.now();
    await next();
    log({
      level: 'trace',
      event: 'request',
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Date.now() - started,
      request_id: c.get('requestId'),
    });
  };
}
