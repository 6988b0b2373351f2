import type { MiddlewareHandler } from 'hono';
import { log } from '../../log';

/**
 * One debug line per request: method, path, status and time taken. Debug because heartbeats alone
 * make one every few seconds per node; `LOG_LEVEL=debug` turns them on when tracing a problem. The
 * query string is left out: a signed blob URL carries its credential there.
 */
export function requestLog(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const started = Date.now();
    await next();
    log({
      level: 'debug',
      event: 'request',
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Date.now() - started,
      request_id: c.get('requestId'),
    });
  };
}
