import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ulid } from '../../src/core/ids';
import { api, submit, fireCron } from './helpers';

/** A job as D1 holds it after it ended: the system of record is where dead letters are read from. */
async function finishedJob(
  queue: string,
  status: 'failed' | 'succeeded' | 'cancelled',
  finishedAt: number,
  type = 'echo',
): Promise<string> {
  const id = `${queue}.${ulid(finishedAt)}`;
  await env.DB.prepare(
    `INSERT INTO jobs (id, tenant, queue, type, payload, priority, status, attempts, max_retries, timeout_sec, created_at, updated_at, finished_at, error, concurrency_key, concurrency_limit)
     VALUES (?, 'default', ?, ?, '{"n":1}', 0, ?, 4, 3, 60, ?, ?, ?, 'exit code 1: boom', 'k', 2)`,
  )
    .bind(id, queue, type, status, finishedAt - 1000, finishedAt, finishedAt)
    .run();
  return id;
}

describe('dead letters and replay', () => {
  it('lists failed jobs newest first, filtered by queue and type', async () => {
    const queue = `dl-${Date.now()}`;
    const now = Date.now();
    const older = await finishedJob(queue, 'failed', now - 5000);
    const newer = await finishedJob(queue, 'failed', now - 1000, 'primes');
    await finishedJob(queue, 'succeeded', now);
    const res = await api('GET', `/dead-letters?queue=${queue}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(2);
    expect(res.body.jobs.map((j: { id: string }) => j.id)).toEqual([newer, older]);
    expect(
      (await api('GET', `/dead-letters?queue=${queue}&type=primes`)).body.jobs.map(
        (j: { id: string }) => j.id,
      ),
    ).toEqual([newer]);
    expect((await api('GET', '/dead-letters?limit=0')).status).toBe(400);
  });

  it('replays one job as a new queued job linked to the original, which is unchanged', async () => {
    const queue = `rp-${Date.now()}`;
    const original = await finishedJob(queue, 'failed', Date.now());
    const res = await api('POST', `/jobs/${original}/replay`);
    expect(res.status).toBe(201);
    expect(res.body.job).toMatchObject({
      replay_of: original,
      status: 'queued',
      queue,
      type: 'echo',
      priority: 0,
      payload: { n: 1 },
      max_retries: 3,
      timeout_sec: 60,
      attempts: 0,
      concurrency_key: 'k',
      concurrency_limit: 2,
    });
    expect(res.body.job.id).not.toBe(original);
    expect((await api('GET', `/jobs/${original}`)).body.job.status).toBe('failed');
    expect(
      (await api('GET', `/queues/${queue}`)).body.head.map((h: { id: string }) => h.id),
    ).toEqual([res.body.job.id]);
  });

  it('refuses to replay an unfinished or unknown job', async () => {
    const queued = (await submit({ payload: 1, queue: `rq-${Date.now()}` })).body.job;
    const res = await api('POST', `/jobs/${queued.id}/replay`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('job_not_finished');
    expect((await api('POST', '/jobs/default.01ARZ3NDEKTSV4RRFFQ69G5FAV/replay')).status).toBe(404);
  });

  it('replays in bulk, by ids or by filter', async () => {
    const queue = `rb-${Date.now()}`;
    const now = Date.now();
    const a = await finishedJob(queue, 'failed', now - 3000);
    const b = await finishedJob(queue, 'cancelled', now - 2000);
    const byIds = await api('POST', '/dead-letters/replay', { ids: [b, a] });
    expect(byIds.status).toBe(201);
    expect(byIds.body.jobs.map((j: { replay_of: string }) => j.replay_of)).toEqual([b, a]);
    const byFilter = await api('POST', '/dead-letters/replay', { queue, limit: 10 });
    expect(byFilter.body.jobs.map((j: { replay_of: string }) => j.replay_of)).toEqual([a]);
    expect(
      (await api('POST', '/dead-letters/replay', { ids: ['default.01ARZ3NDEKTSV4RRFFQ69G5FAV'] }))
        .status,
    ).toBe(404);
    expect((await api('POST', '/dead-letters/replay', { limit: 101 })).status).toBe(400);
  });

  it('prunes finished jobs older than RETENTION_DAYS in the cron run, and nothing else', async () => {
    const queue = `ret-${Date.now()}`;
    const old = Date.now() - 31 * 86_400_000;
    const gone = await finishedJob(queue, 'succeeded', old);
    const kept = await finishedJob(queue, 'failed', Date.now() - 86_400_000);
    await fireCron();
    expect((await api('GET', `/jobs/${gone}`)).status).toBe(404);
    expect((await api('GET', `/jobs/${kept}`)).status).toBe(200);
  });
});
