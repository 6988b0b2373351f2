import { describe, expect, it } from 'vitest';
import { api, submit } from './helpers';

describe('POST /jobs/batch', () => {
  it('accepts all jobs of a batch with 201 and their ids', async () => {
    const queue = `batch-a-${Date.now()}`;
    const res = await api('POST', '/jobs/batch', {
      jobs: [
        { payload: 1, queue },
        { payload: 2, queue, priority: 0 },
        { payload: 3, queue, type: 'primes' },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body.ids).toHaveLength(3);
    expect(res.body.jobs.map((j: { priority: number }) => j.priority)).toEqual([1, 0, 1]);
    for (const id of res.body.ids) expect((await api('GET', `/jobs/${id}`)).status).toBe(200);
  });

  it('accepts none when one job is invalid, naming its index', async () => {
    const queue = `batch-b-${Date.now()}`;
    const res = await api('POST', '/jobs/batch', {
      jobs: [
        { payload: 1, queue },
        { payload: 2, queue, priority: 9 },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('jobs.1.priority');
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(0);
  });

  it('refuses more than 100 jobs, an empty batch and mixed queues', async () => {
    const big = await api('POST', '/jobs/batch', {
      jobs: Array.from({ length: 101 }, (_, i) => ({ payload: i })),
    });
    expect(big.status).toBe(400);
    expect(big.body.error.message).toContain('jobs');
    expect((await api('POST', '/jobs/batch', { jobs: [] })).status).toBe(400);
    const mixed = await api('POST', '/jobs/batch', {
      jobs: [
        { payload: 1, queue: 'qa' },
        { payload: 1, queue: 'qb' },
      ],
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.message).toContain('jobs.1.queue');
  });

  it('accepts exactly 100 jobs in one request', async () => {
    const queue = `batch-c-${Date.now()}`;
    const res = await api('POST', '/jobs/batch', {
      jobs: Array.from({ length: 100 }, (_, i) => ({ payload: i, queue })),
    });
    expect(res.status).toBe(201);
    expect((await api('GET', `/jobs?queue=${queue}&limit=1`)).body.total).toBe(100);
  });
});

describe('POST /jobs/:id/cancel', () => {
  it('cancels a queued job, which then leaves the queue, and refuses a second cancel with 409', async () => {
    const queue = `cancel-a-${Date.now()}`;
    const keep = (await submit({ payload: 'keep', queue })).body.job;
    const drop = (await submit({ payload: 'drop', queue })).body.job;
    const res = await api('POST', `/jobs/${drop.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.job.status).toBe('cancelled');
    expect(res.body.job.finished_at).not.toBeNull();
    const head = await api('GET', `/queues/${queue}`);
    expect(head.body.head.map((h: { id: string }) => h.id)).toEqual([keep.id]);
    const again = await api('POST', `/jobs/${drop.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.details.status).toBe('cancelled');
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    expect((await api('POST', '/jobs/default.01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel')).status).toBe(404);
    expect((await api('POST', '/jobs/x/cancel')).status).toBe(400);
  });

  it('cancels a delayed (scheduled) job', async () => {
    const queue = `cancel-b-${Date.now()}`;
    const job = (await submit({ payload: 1, queue, delay_sec: 3600 })).body.job;
    expect(job.status).toBe('scheduled');
    expect(Date.parse(job.next_attempt_at) - Date.parse(job.created_at)).toBe(3_600_000);
    expect((await api('POST', `/jobs/${job.id}/cancel`)).body.job.status).toBe('cancelled');
  });
});

describe('GET /jobs', () => {
  it('paginates newest first with a total, and filters by status, priority, type and queue', async () => {
    const queue = `list-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(
        (
          await submit({
            payload: i,
            queue,
            priority: (i % 3) as 0 | 1 | 2,
            type: i < 2 ? 'fib' : 'echo',
          })
        ).body.job.id,
      );
    }
    await api('POST', `/jobs/${ids[6]}/cancel`);
    const page1 = await api('GET', `/jobs?queue=${queue}&limit=3&offset=0`);
    const page2 = await api('GET', `/jobs?queue=${queue}&limit=3&offset=3`);
    const page3 = await api('GET', `/jobs?queue=${queue}&limit=3&offset=6`);
    expect(page1.body).toMatchObject({ total: 7, limit: 3, offset: 0 });
    const seen = [...page1.body.jobs, ...page2.body.jobs, ...page3.body.jobs].map(
      (j: { id: string }) => j.id,
    );
    expect(seen).toEqual([...ids].reverse());
    expect(
      (await api('GET', `/jobs?queue=${queue}&status=cancelled`)).body.jobs.map(
        (j: { id: string }) => j.id,
      ),
    ).toEqual([ids[6]]);
    expect((await api('GET', `/jobs?queue=${queue}&priority=0`)).body.total).toBe(3);
    expect((await api('GET', `/jobs?queue=${queue}&type=fib`)).body.total).toBe(2);
    expect(
      (await api('GET', `/jobs?queue=${queue}&type=fib&priority=1`)).body.jobs.map(
        (j: { id: string }) => j.id,
      ),
    ).toEqual([ids[1]]);
    expect((await api('GET', '/jobs?limit=500')).status).toBe(200);
  });
});
