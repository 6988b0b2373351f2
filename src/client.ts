/**
 * A typed client for TypeScript users: Hono's `hc` over the app's own route types, so request bodies,
 * query parameters and answers are checked against the same zod schemas the API validates with.
 *
 *   const api = createClient('http://localhost:8787', { headers: { authorization: 'Bearer ck_...' } });
 *   const res = await api.jobs.$post({ json: { payload: 'hello', priority: 0 } });
 */
import { hc, type ClientRequestOptions } from 'hono/client';
import type { AppType } from './api/app';

export type { AppType };

export function createClient(baseUrl: string, options?: ClientRequestOptions) {
  return hc<AppType>(baseUrl, options);
}
