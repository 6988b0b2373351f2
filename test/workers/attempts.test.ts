/**
 * Attempt history in D1 (migrations/0010_attempts.sql): `GET /jobs/:id/attempts` answers a job's
 * rows oldest first and is scoped like `GET /jobs/:id`; retention deletes them with their job. The
 * Scheduler object writing them is covered end to end by test/e2e/attempts.test.ts.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ulid } from '../../src/core/ids';
import { api, fireCron } from './helpers';

async function finishedJob(queue: string, tenant: string, finishedAt: number): Promise<string> {
  const id = `${queue}.${ulid(finishedAt)}`;
  await env.DB.prepare(
    `INSERT INTO jobs (id, tenant, queue, type, payload, priority, status, attempts, max_retries, timeout_sec, created_at, updated_at, finished_at)
     VALUES (?, ?, ?, 'fail', '{}', 1, 'succeeded', 2, 3, 60, ?, ?, ?)`,
  )
    .bind(id, tenant, queue, finishedAt - 5000, finishedAt, finishedAt)
    .run();
  // Inserted out of order, and the first one twice, as an outbox replay would.
  for (const [attempt, reason, exit] of [
    [2, 'succeeded', 0],
    [1, 'failed', 1],
    [1, 'failed', 1],
  ] as const)
    await env.DB.prepare(
      `INSERT INTO job_attempts (job_id, attempt, worker_id, executor, started_at, finished_at, exit_code, error, timed_out, reason)
       VALUES (?, ?, 'node-a', 'native', ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
    )
      .bind(id, attempt, finishedAt - 3000, finishedAt - 2000, exit, exit ? 'boom' : null, reason)
      .run();
  return id;
}

const count = async (id: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM job_attempts WHERE job_id = ?')
    .bind(id)
    .first<{ n: number }>())!.n;

describe('attempt history', () => {
  it('lists a job’s attempts oldest first, and only to its tenant', async () => {
    const queue = `att-${Date.now()}`;
    const id = await finishedJob(queue, 'default', Date.now());
    const res = await api('GET', `/jobs/${id}/attempts`);
    expect(res.status).toBe(200);
    expect(res.body.attempts).toHaveLength(2);
    expect(res.body.attempts[0]).toEqual({
      attempt: 1,
      worker_id: 'node-a',
      executor: 'native',
      started_at: expect.any(String),
      finished_at: expect.any(String),
      exit_code: 1,
      error: 'boom',
      timed_out: false,
      reason: 'failed',
    });
    expect(res.body.attempts[1]).toMatchObject({ attempt: 2, reason: 'succeeded', exit_code: 0 });

    const other = await finishedJob(queue, 'acme', Date.now() - 10);
    expect((await api('GET', `/jobs/${other}/attempts`)).status).toBe(404);
    expect((await api('GET', `/jobs/${queue}.${ulid(1)}/attempts`)).status).toBe(404);
  });

  it('refuses a reason outside the closed set', async () => {
    const write = env.DB.prepare(
      `INSERT INTO job_attempts (job_id, attempt, finished_at, reason) VALUES ('x.y', 1, 1, 'exploded')`,
    ).run();
    await expect(write).rejects.toThrow(/CHECK constraint/);
  });

  it('deletes a job’s attempts when retention deletes the job', async () => {
    const queue = `att-ret-${Date.now()}`;
    const gone = await finishedJob(queue, 'default', Date.now() - 31 * 86_400_000);
    const kept = await finishedJob(queue, 'default', Date.now() - 86_400_000);
    expect(await count(gone)).toBe(2);
    await fireCron();
    expect((await api('GET', `/jobs/${gone}`)).status).toBe(404);
    expect(await count(gone)).toBe(0);
    expect(await count(kept)).toBe(2);
  });
});
