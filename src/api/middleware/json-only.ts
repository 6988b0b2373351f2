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
      const hasBody =
        (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
      const type = c.req.header('content-type') ?? '';
      if (hasBody && !/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
        throw new ApiError(
          415,
          'unsupported_media_type',
          `Content-Type: the body must be application/json, not ${type || 'untyped'}`,
          { problems: [{ field: 'Content-Type', message: 'must be application/json' }] },
        );
      }
    }
    await next();
  };
}

/** After the size limits: a JSON body must be strict UTF-8 and not absurdly deep (checkJsonText). */
export function jsonText(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    const type = c.req.header('content-type') ?? '';
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && /json/i.test(type)) {
      let text: string;
      try {
        // Hono caches the bytes, so the validator parses the same body without reading it again.
        text = new TextDecoder('utf-8', { fatal: true }).decode(await c.req.arrayBuffer());
      } catch {
        throw new ApiError(400, 'invalid_json', 'the body is not valid UTF-8', {
          problems: [{ field: '(body)', message: 'not valid UTF-8' }],
        });
      }
      checkJsonText(text);
    }
    await next();
  };
}

/** Deeper than the runner accepts, and deep enough to exhaust a recursive validator's stack. */
export const MAX_JSON_DEPTH = 128;

/**
 * Nesting deep enough to overflow a recursive parse (zod's z.json() ran out of stack at ~3,000
 * levels) is refused in one pass without recursion; the body is already within its size limit.
 */
function checkJsonText(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92)
        i++; // backslash: skip the escaped character
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 || ch === 123) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new ApiError(
          400,
          'validation_failed',
          `(body): nested more than ${MAX_JSON_DEPTH} levels deep`,
          {
            problems: [
              { field: '(body)', message: `nested more than ${MAX_JSON_DEPTH} levels deep` },
            ],
          },
        );
      }
    } else if (ch === 93 || ch === 125) depth--;
  }
}

/** 413 for bodies over `maxSize` bytes, before anything parses them. */
export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, 'body_too_large', `the request body is over ${maxSize} bytes`, {
        problems: [{ field: '(body)', message: `at most ${maxSize} bytes` }],
      });
    },
  });
}
