import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';

/** A request that sends a body must send JSON: anything else is a 415 naming the content type. */
export function jsonOnly(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const length = c.req.header('content-length');
      const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
      const type = c.req.header('content-type') ?? '';
      if (hasBody && !/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
        throw new ApiError(415, 'unsupported_media_type', `Content-Type: the body must be application/json, not ${type || 'untyped'}`, { problems: [{ field: 'Content-Type', message: 'must be application/json' }] });
      }
    }
    await next();
  };
}

/** 413 for bodies over `maxSize` bytes, before anything parses them. */
export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, 'body_too_large', `the request body is over ${maxSize} bytes`, { problems: [{ field: '(body)', message: `at most ${maxSize} bytes` }] });
    },
  });
}
