import {
  createExecutionContext,
  createScheduledController,
  env,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test';
import worker from '../../src/index';
import { createApp } from '../../src/api/app';

export const WORKER_TOKEN = 'test-worker-token';

export async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await SELF.fetch(`http://cloud.test${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export const submit = (body: unknown, headers?: Record<string, string>) =>
  api('POST', '/jobs', body, headers);

/** A small factory of job bodies, in the style of Graphile's makeSelectionOfJobs(). */
export function jobBody(overrides: Record<string, unknown> = {}) {
  return { payload: { n: Math.random() }, ...overrides };
}

/** Polls `fn` until it returns a value, with a deadline: tests wait on a condition, never a bare sleep. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the cron trigger's handler once, to its end (reconcile, retention, schedules, retirement);
 * `vars` set deployment variables for this run, as callWithVars does for a request.
 */
export async function fireCron(vars: Record<string, string> = {}): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: new Date(), cron: '* * * * *' }),
    { ...env, ...vars } as never,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/**
 * A request to the app built with these variables on top of the test bindings, the way a
 * deployment would set them (rate limits, for instance, are off for the rest of the suite).
 */
export async function callWithVars(
  vars: Record<string, string>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const init: RequestInit = {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await createApp().fetch(
    new Request(`http://cloud.test${path}`, init),
    { ...env, ...vars },
    createExecutionContext(),
  );
  return { status: res.status, headers: res.headers, body: await res.json() };
}
