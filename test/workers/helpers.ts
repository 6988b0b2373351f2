import { SELF } from 'cloudflare:test';

export const WORKER_TOKEN = 'test-worker-token';

export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
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

export const submit = (body: unknown, headers?: Record<string, string>) => api('POST', '/jobs', body, headers);

/** A small factory of job bodies, in the style of Graphile's makeSelectionOfJobs(). */
export function jobBody(overrides: Record<string, unknown> = {}) {
  return { payload: { n: Math.random() }, ...overrides };
}
