import type { MiddlewareHandler } from 'hono';

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every response carries `X-Request-ID`: the client's when it is sane, else a new one. */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given && VALID.test(given) ? given : crypto.randomUUID();
    c.set('requestId', id);
    c.header('X-Request-ID', id);
    await next();
    c.header('X-Request-ID', id);
  };
}
