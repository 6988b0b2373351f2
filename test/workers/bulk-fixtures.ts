/** Fixtures of the bulk action tests (bulk-actions.test.ts, bulk-background.test.ts). */
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { api, WORKER_TOKEN } from './helpers';
import type { Env } from '../../src/env';

/** The test bindings as the Worker's own Env (the pool's type declares only what tests use). */
export const workerEnv = env as unknown as Env;

export const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
export const NODE = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
export const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

export const bulk = (body: unknown, headers?: Record<string, string>) =>
  api('POST', '/jobs/bulk', body, headers);
export const jobOf = async (id: string, headers?: Record<string, string>) =>
  (await api('GET', `/jobs/${id}`, undefined, headers)).body.job;

export async function submitMany(
  queue: string,
  count: number,
  extra: Record<string, unknown> = {},
) {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 100) {
    const jobs = Array.from({ length: Math.min(100, count - i) }, (_, k) => ({
      payload: i + k,
      queue,
      ...extra,
    }));
    const res = await api('POST', '/jobs/batch', { jobs });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(...res.body.ids);
  }
  return ids;
}

/** Jobs that ran once on a pull node and failed for good (max_retries 0). */
export async function failedJobs(queue: string, count: number): Promise<string[]> {
  const ids = await submitMany(queue, count, { max_retries: 0 });
  const node = fresh('node');
  const reg = await api(
    'POST',
    '/workers/register',
    { id: node, mode: 'pull', capacity: count, executors: ['native'], queues: [queue] },
    NODE,
  );
  expect(reg.status).toBe(201);
  const leased = await api(
    'POST',
    `/workers/${node}/lease`,
    { max_jobs: count, wait_sec: 0 },
    NODE,
  );
  expect(leased.body.jobs).toHaveLength(count);
  for (const j of leased.body.jobs) {
    const res = await api(
      'POST',
      `/jobs/${j.job_id}/result`,
      {
        worker_id: node,
        attempt: j.attempt,
        token: j.token,
        exit_code: 1,
        stdout: '',
        stderr: 'boom',
        duration_ms: 1,
        executor: 'native',
      },
      NODE,
    );
    expect(res.status).toBe(200);
  }
  await api('DELETE', `/workers/${node}`, undefined, NODE);
  for (const id of ids) expect((await jobOf(id)).status).toBe('failed');
  return ids;
}
