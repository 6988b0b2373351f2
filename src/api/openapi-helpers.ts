import type { ZodType } from 'zod';
import { ErrorBody } from '../protocol/common';

const REASONS: Record<number, string> = {
  400: 'Invalid request: the error names the field and the reason',
  401: 'Missing or wrong credentials',
  403: 'Not allowed: a queue another tenant owns, or a node key outside its node id or scope',
  404: 'Not found',
  409: 'Conflict with the current state (terminal job, stale attempt, reused idempotency key, queue limit reached)',
  413: 'Body or payload too large',
  415: 'The body must be application/json',
  429: 'Rate limited; see Retry-After',
  503: 'Not ready, misconfigured, or storage unavailable',
};

/** The error responses of a route, all in the one error shape. */
export function errors(...codes: (keyof typeof REASONS)[]) {
  return Object.fromEntries(
    codes.map((code) => [
      code,
      { description: REASONS[code], content: { 'application/json': { schema: ErrorBody } } },
    ]),
  );
}

export function jsonBody<T extends ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}
