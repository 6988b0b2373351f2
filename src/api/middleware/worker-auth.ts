import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';
import { readBodyWithin } from './body-limits';
import { jsonText } from './json-only';

const encoder = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(s)));
}

/** Compares digests so the time taken does not reveal how much of the token matched. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/** Register, heartbeat, deregister and result calls carry `Authorization: Bearer <WORKER_TOKEN>`. */
export function workerAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !(await sameSecret(match[1].trim(), c.get('config').WORKER_TOKEN))) {
      throw new ApiError(
        401,
        'unauthorized',
        'a worker token is required: Authorization: Bearer <WORKER_TOKEN>',
      );
    }
    await next();
  };
}

/**
 * A worker-protocol route's middleware: the token first, then the bounded body read and the JSON
 * checks that app.ts runs for every other route before its handler (body-limits.ts).
 */
export function workerProtocol(): MiddlewareHandler<AppEnv>[] {
  return [workerAuth(), readBodyWithin(), jsonText()];
}
