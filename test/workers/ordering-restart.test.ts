import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, submit } from './helpers';

const stubOf = (queue: string) => env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));

/** Submits a shuffled mix of priorities and returns ids in the order the scheduler must dispatch them. */
async function submitMix(queue: string, n: number): Promise<string[]> {
  const byPriority: Record<number, string[]> = { 0: [], 1: [], 2: [] };
  for (let i = 0; i < n; i++) {
    const priority = [2, 1, 0, 1, 2, 0, 1][i % 7];
    const body: Record<string, unknown> = { payload: i, queue };
    if (priority !== 1 || i % 2) body.priority = priority; // half the normal jobs send no priority at all
    byPriority[priority].push((await submit(body)).body.job.id);
  }
  return [...byPriority[0], ...byPriority[1], ...byPriority[2]];
}

describe('dispatch order', () => {
  it('puts priority 0 before 1 before 2, FIFO among equals', async () => {
    const queue = `order-${Date.now()}`;
    const expected = await submitMix(queue, 30);
    const res = await api('GET', `/queues/${queue}?limit=100`);
    expect(res.status).toBe(200);
    expect(res.body.depth).toBe(30);
    expect(res.body.depth_by_priority).toEqual({ '0': 8, '1': 13, '2': 9 });
    expect(res.body.head.map((h: { id: string }) => h.id)).toEqual(expected);
  });

  it('looks like a FIFO queue to a client that sends no priority', async () => {
    const queue = `fifo-${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push((await submit({ payload: i, queue })).body.job.id);
    expect(
      (await api('GET', `/queues/${queue}`)).body.head.map((h: { id: string }) => h.id),
    ).toEqual(ids);
  });
});

describe('restart', () => {
  it('loses no accepted job and keeps the order when the Durable Object is evicted', async () => {
    const queue = `restart-${Date.now()}`;
    const expected = await submitMix(queue, 25);
    const scheduledJob = (await submit({ payload: 'later', queue, delay_sec: 600 })).body.job;
    const cancelled = (await submit({ payload: 'gone', queue })).body.job;
    await api('POST', `/jobs/${cancelled.id}/cancel`);
    await evictDurableObject(stubOf(queue));
    const after = await api('GET', `/queues/${queue}?limit=100`);
    expect(after.body.head.map((h: { id: string }) => h.id)).toEqual(expected);
    expect(after.body.by_status).toEqual({ queued: 25, scheduled: 1 });
    expect((await api('GET', `/jobs/${scheduledJob.id}`)).body.job.status).toBe('scheduled');
    // New submissions after the restart keep FIFO behind the old ones.
    const late = (await submit({ payload: 'late', queue, priority: 0 })).body.job;
    const head = (await api('GET', `/queues/${queue}?limit=100`)).body.head.map(
      (h: { id: string }) => h.id,
    );
    const zeros = expected.slice(0, 7);
    expect(head.slice(0, 8)).toEqual([...zeros, late.id]);
  });
});

describe('GET /stats', () => {
  it('counts jobs by status and queue depth by priority', async () => {
    const queue = `stats-${Date.now()}`;
    await submit({ payload: 1, queue, priority: 0 });
    const c = (await submit({ payload: 2, queue })).body.job;
    await api('POST', `/jobs/${c.id}/cancel`);
    const res = await api('GET', '/stats');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ workers: expect.any(Number), uptime_sec: expect.any(Number) });
    expect(res.body.jobs_by_status.cancelled).toBeGreaterThanOrEqual(1);
    expect(res.body.queue_depth).toBe(
      Object.values(res.body.queue_depth_by_priority as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      ),
    );
    expect(res.body.queue_depth_by_priority['0']).toBeGreaterThanOrEqual(1);
    expect(res.body.queues).toContain(queue);
    expect(
      res.body.success_rate === null || (res.body.success_rate >= 0 && res.body.success_rate <= 1),
    ).toBe(true);
  });
});
