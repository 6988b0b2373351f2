import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client';

/** The typed client (Hono's hc over AppType) against the real Worker. */
describe('typed client', () => {
  const api = createClient('http://cloud.test', {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => SELF.fetch(input, init),
  });

  it("runs the README's example: a typed submit with an idempotency key, read back typed", async () => {
    const res = await api.jobs.$post({
      header: { 'x-idempotency-key': `readme-${Date.now()}` },
      json: { payload: 'hello', priority: 0 },
    });
    expect(res.status).toBe(201);
    if (res.status === 201 || res.status === 200) {
      const { job } = await res.json(); // typed: Job
      const again = await api.jobs[':id'].$get({ param: { id: job.id } });
      expect(again.status).toBe(200);
      if (again.status === 200) expect((await again.json()).job.payload).toBe('hello');
    }
  });

  it('calls typed routes and reads typed answers', async () => {
    const metrics = await api.metrics.$get();
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE queue_depth gauge');
    const history = await api.stats.history.$get();
    const h = await history.json();
    expect(h.step).toBe(5);
    expect(h.finished).toHaveLength(120);
  });

  it('starts a bulk action and reads its progress, typed', async () => {
    const queue = `client-bulk-${Date.now()}`;
    const started = await api.jobs.bulk.$post({ json: { action: 'cancel', filter: { queue } } });
    expect(started.status).toBe(200);
    const { bulk } = await started.json();
    expect(bulk).toMatchObject({ action: 'cancel', matched: 0, status: 'completed' });
    const read = await api.jobs.bulk[':id'].$get({ param: { id: bulk.id } });
    expect((await read.json()).bulk.id).toBe(bulk.id);
  });

  it('submits a rate-limited job and pauses, caps and resumes its queue', async () => {
    const queue = `client-${Date.now().toString(36)}`;
    const rate_limit = { key: 'acct-1', limit: 5, period_sec: 60 };
    // The README's example: POST /jobs typed, with its answer read back typed by GET /jobs/:id.
    const submitted = await api.jobs.$post({ header: {}, json: { payload: 1, queue, rate_limit } });
    expect(submitted.status).toBe(201);
    if (submitted.status !== 201) return;
    const { job } = await submitted.json();
    expect(job.rate_limit).toEqual(rate_limit);
    const read = await api.jobs[':id'].$get({ param: { id: job.id } });
    expect(read.status).toBe(200);
    if (read.status !== 200) return;
    expect((await read.json()).job).toMatchObject({ id: job.id, queue, rate_limit });
    const paused = await api.queues[':name'].pause.$post({ param: { name: queue } });
    expect(paused.status).toBe(200);
    expect(await paused.json()).toEqual({ queue, paused: true, concurrency_limit: null });
    const capped = await api.queues[':name'].$put({
      param: { name: queue },
      json: { concurrency_limit: 3 },
    });
    expect(await capped.json()).toEqual({ queue, paused: true, concurrency_limit: 3 });
    const resumed = await api.queues[':name'].resume.$post({ param: { name: queue } });
    expect((await resumed.json()).paused).toBe(false);
  });
});

describe('typed client: PATCH /jobs/:id', () => {
  const api = createClient('http://cloud.test', {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => SELF.fetch(input, init),
  });

  it('edits a waiting job with a typed body and reads the typed answer', async () => {
    const queue = `client-edit-${Date.now()}`;
    const submitted = await api.jobs.$post({ header: {}, json: { payload: 'x', queue } });
    if (submitted.status !== 201) throw new Error(`submit answered ${submitted.status}`);
    const { job } = await submitted.json();
    const res = await api.jobs[':id'].$patch({
      param: { id: job.id },
      json: { priority: 0, delay_sec: 30 },
    });
    expect(res.status).toBe(200);
    if (res.status !== 200) return;
    const body = await res.json();
    expect(body.job).toMatchObject({ id: job.id, priority: 0, status: 'scheduled' });
  });
});
