import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, callWithVars, submit, WORKER_TOKEN } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
const stubOf = (queue: string) => env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
const head = async (queue: string) =>
  (await api('GET', `/queues/${queue}?limit=50`)).body.head.map((h: { id: string }) => h.id);
const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
  api('PATCH', `/jobs/${id}`, body, headers);

describe('PATCH /jobs/:id', () => {
  it('a new priority moves a queued job in dispatch order, in the object and in D1', async () => {
    const queue = `edit-a-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await submit({ payload: i, queue })).body.job.id);
    const res = await patch(ids[3], { priority: 0 });
    expect(res.status).toBe(200);
    expect(res.body.job).toMatchObject({ id: ids[3], priority: 0, status: 'queued' });
    expect(await head(queue)).toEqual([ids[3], ids[0], ids[1], ids[2]]);
    const listed = await api('GET', `/jobs?queue=${queue}&priority=0`);
    expect(listed.body.jobs.map((j: { id: string }) => j.id)).toEqual([ids[3]]);
    await evictDurableObject(stubOf(queue));
    expect(await head(queue)).toEqual([ids[3], ids[0], ids[1], ids[2]]);
  });

  it('delay_sec takes a queued job out of the queue; run_at in the past queues a scheduled one', async () => {
    const queue = `edit-b-${Date.now()}`;
    const a = (await submit({ payload: 'a', queue })).body.job;
    const b = (await submit({ payload: 'b', queue, delay_sec: 3600 })).body.job;
    const later = await patch(a.id, { delay_sec: 600 });
    expect(later.body.job.status).toBe('scheduled');
    expect(Date.parse(later.body.job.next_attempt_at)).toBeGreaterThan(Date.now() + 590_000);
    const now = await patch(b.id, { run_at: new Date(Date.now() - 1000).toISOString() });
    expect(now.body.job).toMatchObject({ status: 'queued', next_attempt_at: null });
    expect(await head(queue)).toEqual([b.id]);
    const moved = await patch(a.id, { run_at: '2099-01-01T00:00:00Z', priority: 2 });
    expect(moved.body.job).toMatchObject({
      status: 'scheduled',
      priority: 2,
      next_attempt_at: '2099-01-01T00:00:00.000Z',
    });
  });

  it('a waiting job (depends_on) takes a priority and keeps a run_at for after its dependencies', async () => {
    const queue = `edit-w-${Date.now()}`;
    const first = (await submit({ payload: 'a', queue })).body.job;
    const waiter = (await submit({ payload: 'b', queue, depends_on: [first.id] })).body.job;
    expect(waiter.status).toBe('waiting');
    const res = await patch(waiter.id, { priority: 2, run_at: '2099-01-01T00:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body.job).toMatchObject({
      status: 'waiting',
      priority: 2,
      next_attempt_at: '2099-01-01T00:00:00.000Z',
    });
  });

  it('409 with the status for a job that started or ended', async () => {
    const queue = `edit-c-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    await api('POST', `/jobs/${job.id}/cancel`);
    const res = await patch(job.id, { priority: 0 });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'job_not_editable',
      details: { status: 'cancelled' },
    });
    // A running job: a node takes it through a pull lease.
    const running = (await submit({ payload: 'r', queue })).body.job;
    const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
    const reg = await api(
      'POST',
      '/workers/register',
      {
        id: `edit-node-${Date.now()}`,
        mode: 'pull',
        capacity: 1,
        executors: ['native'],
        queues: [queue],
      },
      auth,
    );
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const lease = await api('POST', `/workers/${reg.body.worker.id}/lease`, { wait_sec: 0 }, auth);
    expect(lease.status, JSON.stringify(lease.body)).toBe(200);
    expect(lease.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([running.id]);
    const busy = await patch(running.id, { delay_sec: 5 });
    expect(busy.status).toBe(409);
    expect(busy.body.error.details.status).toBe('running');
  });

  it("404 for an unknown job and for another tenant's", async () => {
    const queue = `edit-d-${Date.now()}`;
    expect((await patch(`${queue}.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q`, { priority: 0 })).status).toBe(404);
    const key = await api('POST', '/admin/keys', { tenant: `edit-t-${Date.now()}` }, ADMIN);
    const theirs = (await submit({ payload: 'x', queue })).body.job;
    const res = await patch(
      theirs.id,
      { priority: 0 },
      { authorization: `Bearer ${key.body.key}` },
    );
    expect(res.status).toBe(404);
    expect((await api('GET', `/jobs/${theirs.id}`)).body.job.priority).toBe(1);
  });

  it('400 naming the field for a bad body', async () => {
    const queue = `edit-e-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    const cases: [unknown, string][] = [
      [{}, 'priority'],
      [{ priority: 3 }, 'priority'],
      [{ run_at: 'tomorrow' }, 'run_at'],
      [{ delay_sec: -1 }, 'delay_sec'],
      [{ delay_sec: 5, run_at: '2099-01-01T00:00:00Z' }, 'run_at'],
      [{ priority: 0, payload: 'no' }, 'payload'],
    ];
    for (const [body, field] of cases) {
      const res = await patch(job.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const fields = res.body.error.details.problems.map((p: { field: string }) => p.field);
      expect(fields, JSON.stringify(body)).toContain(field);
    }
    expect((await api('GET', `/jobs/${job.id}`)).body.job.priority).toBe(1);
  });

  it('is rate limited like a submission', async () => {
    const queue = `edit-f-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    const vars = { RATE_LIMIT_JOBS_PER_MIN: '1' };
    const headers = { 'cf-connecting-ip': `198.51.100.${Date.now() % 250}` };
    const first = await callWithVars(vars, 'PATCH', `/jobs/${job.id}`, { priority: 0 }, headers);
    const second = await callWithVars(vars, 'PATCH', `/jobs/${job.id}`, { priority: 2 }, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('rate_limited');
  });
});
