/**
 * Flow control in workerd, against the real API, Durable Object and D1 (issue 17): a job's
 * rate_limit (validated, shown, enforced by the queue's object across a restart), and the queue
 * controls (POST /queues/:name/pause and /resume, PUT /queues/:name) with every refusal.
 */
import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, callWithVars, fireCron, submit, waitFor, WORKER_TOKEN } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
const NODE = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;
const stubOf = (queue: string) => env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));

async function tenantKey(tenant: string): Promise<Record<string, string>> {
  const res = await api('POST', '/admin/keys', { tenant, name: 'flow' }, ADMIN);
  expect(res.status).toBe(201);
  return { 'x-api-key': res.body.key };
}

async function pullNode(queue: string, capacity: number): Promise<string> {
  const id = fresh('pull');
  const res = await api(
    'POST',
    '/workers/register',
    { id, mode: 'pull', capacity, executors: ['native'], queues: [queue] },
    NODE,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return id;
}

/** What a pull node gets now, without waiting: the ids of the jobs leased. */
async function leased(node: string, max: number): Promise<string[]> {
  const res = await api(
    'POST',
    `/workers/${node}/lease`,
    { max_jobs: max, wait_sec: 0, prefetch: 0 },
    NODE,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.jobs.map((j: { job_id: string }) => j.job_id);
}

function expectRefused(
  res: { status: number; body: any },
  status: number,
  code: string,
  field: string,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message).toContain(field);
  expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
}

describe('rate_limit on a job', () => {
  it.each([
    ['an empty key', { key: '', limit: 1, period_sec: 1 }, 'rate_limit.key'],
    [
      'a key over 128 characters',
      { key: 'k'.repeat(129), limit: 1, period_sec: 1 },
      'rate_limit.key',
    ],
    ['a limit of 0', { key: 'k', limit: 0, period_sec: 1 }, 'rate_limit.limit'],
    ['a fractional limit', { key: 'k', limit: 1.5, period_sec: 1 }, 'rate_limit.limit'],
    ['a limit over 10,000', { key: 'k', limit: 10_001, period_sec: 1 }, 'rate_limit.limit'],
    ['a period of 0', { key: 'k', limit: 1, period_sec: 0 }, 'rate_limit.period_sec'],
    ['a period over a day', { key: 'k', limit: 1, period_sec: 86_401 }, 'rate_limit.period_sec'],
    ['a missing period', { key: 'k', limit: 1 }, 'rate_limit.period_sec'],
    ['an unknown field', { key: 'k', limit: 1, period_sec: 1, burst: 2 }, 'rate_limit.burst'],
  ])('refuses %s with 400 naming the field', async (_what, rate_limit, field) => {
    expectRefused(await submit({ payload: 1, rate_limit }), 400, 'validation_failed', field);
  });

  it('wakes a parked job when its window frees, with nothing else happening in the queue', async () => {
    const queue = fresh('wake');
    const rate_limit = { key: 'k', limit: 1, period_sec: 2 };
    const first = (await submit({ payload: 1, queue, rate_limit })).body.job;
    const node = await pullNode(queue, 2);
    const started = Date.now();
    expect(await leased(node, 2)).toEqual([first.id]);
    // Parked by a pass that starts nothing.
    const second = (await submit({ payload: 2, queue, rate_limit })).body.job;
    // A long poll that waits: only the object's alarm at the window's end can give it the job.
    const res = await api(
      'POST',
      `/workers/${node}/lease`,
      { max_jobs: 1, wait_sec: 4, prefetch: 0 },
      NODE,
    );
    expect(res.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([second.id]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('starts at most `limit` jobs of a key per window while other jobs take the free slots, also after a restart', async () => {
    const queue = fresh('rate');
    const rate_limit = { key: 'customer-7', limit: 2, period_sec: 3600 };
    const limited = [];
    for (let i = 0; i < 4; i++)
      limited.push((await submit({ payload: i, queue, rate_limit })).body.job);
    expect(limited[0].rate_limit).toEqual(rate_limit);
    expect((await api('GET', `/jobs/${limited[0].id}`)).body.job.rate_limit).toEqual(rate_limit);
    const free = (await submit({ payload: 'free', queue })).body.job;
    const node = await pullNode(queue, 10);
    expect((await leased(node, 10)).sort()).toEqual([limited[0].id, limited[1].id, free.id].sort());
    const view = (await api('GET', `/queues/${queue}`)).body;
    expect(view).toMatchObject({ running: 3, parked_by_rate_limit: 2 });
    // The window is in the object's storage: a restart does not open it.
    await evictDurableObject(stubOf(queue));
    const more = (await submit({ payload: 'free2', queue })).body.job;
    expect(await leased(node, 10)).toEqual([more.id]);
    expect((await api('GET', `/jobs/${limited[2].id}`)).body.job.status).toBe('queued');
  });
});

describe('queue controls', () => {
  it('pause: the queue accepts jobs and starts none; resume starts them; the pause survives a restart', async () => {
    const queue = fresh('pause');
    const first = (await submit({ payload: 1, queue })).body.job;
    const node = await pullNode(queue, 4);
    expect(await leased(node, 4)).toEqual([first.id]);
    const paused = await api('POST', `/queues/${queue}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ queue, paused: true, concurrency_limit: null });
    const waiting = (await submit({ payload: 2, queue })).body.job;
    expect(waiting.status).toBe('queued');
    await evictDurableObject(stubOf(queue));
    expect(await leased(node, 4)).toEqual([]);
    const view = (await api('GET', `/queues/${queue}`)).body;
    expect(view).toMatchObject({ paused: true, concurrency_limit: null, depth: 1, running: 1 });
    const resumed = await api('POST', `/queues/${queue}/resume`);
    expect(resumed.body).toEqual({ queue, paused: false, concurrency_limit: null });
    expect(await leased(node, 4)).toEqual([waiting.id]);
  });

  it('PUT concurrency_limit caps the running jobs across nodes; null clears it', async () => {
    const queue = fresh('cap');
    const set = await api('PUT', `/queues/${queue}`, { concurrency_limit: 2 });
    // A queue never named is not found, even by the operator.
    expectRefused(set, 404, 'queue_not_found', 'name');
    for (let i = 0; i < 5; i++) expect((await submit({ payload: i, queue })).status).toBe(201);
    const capped = await api('PUT', `/queues/${queue}`, { concurrency_limit: 2 });
    expect(capped.body).toEqual({ queue, paused: false, concurrency_limit: 2 });
    const [a, b] = [await pullNode(queue, 3), await pullNode(queue, 3)];
    expect((await leased(a, 3)).length + (await leased(b, 3)).length).toBe(2);
    expect((await api('GET', `/queues/${queue}`)).body).toMatchObject({
      concurrency_limit: 2,
      running: 2,
      depth: 3,
    });
    const cleared = await api('PUT', `/queues/${queue}`, { concurrency_limit: null });
    expect(cleared.body.concurrency_limit).toBeNull();
    expect((await leased(a, 3)).length + (await leased(b, 3)).length).toBe(3);
  });

  it('a paused queue that retires keeps its pause: its storage is not cleared', async () => {
    const queue = fresh('retire');
    const node = await pullNode(queue, 1);
    expect((await api('DELETE', `/workers/${node}`, undefined, NODE)).status).toBe(200);
    expect((await api('POST', `/queues/${queue}/pause`)).status).toBe(200);
    await waitFor(`${queue} to retire`, async () => {
      await fireCron({ QUEUE_IDLE_RETIRE_SEC: '1', IDEMPOTENCY_TTL_SEC: '1' });
      const row = await env.DB.prepare('SELECT retired_at FROM queues WHERE name = ?')
        .bind(queue)
        .first<{ retired_at: number | null }>();
      return row?.retired_at ? true : undefined;
    });
    const job = (await submit({ payload: 1, queue })).body.job;
    const again = await pullNode(queue, 1);
    expect(await leased(again, 1)).toEqual([]);
    expect((await api('GET', `/queues/${queue}`)).body).toMatchObject({ paused: true, depth: 1 });
    expect((await api('POST', `/queues/${queue}/resume`)).body.paused).toBe(false);
    expect(await leased(again, 1)).toEqual([job.id]);
  });

  it.each([
    ['a cap of 0', { concurrency_limit: 0 }, 'concurrency_limit'],
    ['a fractional cap', { concurrency_limit: 1.5 }, 'concurrency_limit'],
    ['a cap as a string', { concurrency_limit: '3' }, 'concurrency_limit'],
    ['no cap at all', {}, 'concurrency_limit'],
    ['an unknown field', { concurrency_limit: 2, paused: true }, 'paused'],
  ])('PUT refuses %s with 400 naming the field', async (_what, body, field) => {
    expectRefused(await api('PUT', '/queues/default', body), 400, 'validation_failed', field);
  });

  it('refuses a bad queue name and an unknown queue', async () => {
    expectRefused(
      await api('POST', '/queues/Not%20A%20Name/pause'),
      400,
      'validation_failed',
      'name',
    );
    expectRefused(
      await api('POST', `/queues/${fresh('nobody')}/pause`),
      404,
      'queue_not_found',
      'name',
    );
    expectRefused(
      await api('POST', `/queues/${fresh('nobody')}/resume`),
      404,
      'queue_not_found',
      'name',
    );
  });

  it("lets a tenant control its own queue, not another tenant's nor a shared one", async () => {
    const a = await tenantKey(fresh('ta'));
    const b = await tenantKey(fresh('tb'));
    const own = fresh('own');
    expect((await submit({ payload: 1, queue: own }, a)).status).toBe(201);
    expect((await api('POST', `/queues/${own}/pause`, undefined, a)).body.paused).toBe(true);
    expectRefused(
      await api('POST', `/queues/${own}/resume`, undefined, b),
      403,
      'queue_owned_by_other_tenant',
      'name',
    );
    expectRefused(
      await api('PUT', `/queues/${own}`, { concurrency_limit: 1 }, b),
      403,
      'queue_owned_by_other_tenant',
      'name',
    );
    expectRefused(
      await api('POST', '/queues/default/pause', undefined, b),
      403,
      'queue_shared',
      'name',
    );
    // b's refusals changed nothing; the admin may control any queue.
    expect((await api('GET', `/queues/${own}`, undefined, a)).body.paused).toBe(true);
    expect((await api('POST', `/queues/${own}/resume`, undefined, ADMIN)).body.paused).toBe(false);
    expect(
      (await api('POST', `/queues/${own}/pause`, undefined, { 'x-api-key': 'ck_wrong' })).status,
    ).toBe(401);
  });

  it('is rate limited like submissions: each change takes a token', async () => {
    const queue = fresh('rl');
    expect((await submit({ payload: 1, queue })).status).toBe(201);
    const vars = { RATE_LIMIT_JOBS_PER_MIN: '2' };
    const ip = { 'cf-connecting-ip': `198.51.100.${n % 250}` };
    expect((await callWithVars(vars, 'POST', `/queues/${queue}/pause`, undefined, ip)).status).toBe(
      200,
    );
    expect(
      (await callWithVars(vars, 'POST', `/queues/${queue}/resume`, undefined, ip)).status,
    ).toBe(200);
    const third = await callWithVars(vars, 'PUT', `/queues/${queue}`, { concurrency_limit: 1 }, ip);
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('rate_limited');
    expect((await api('GET', `/queues/${queue}`)).body.concurrency_limit).toBeNull();
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/queues/{name}'])).toEqual(
      expect.arrayContaining(['get', 'put']),
    );
    expect(doc.paths['/queues/{name}/pause'].post).toBeDefined();
    expect(doc.paths['/queues/{name}/resume'].post).toBeDefined();
    expect(doc.components.schemas.QueueUpdate).toBeDefined();
    expect(doc.components.schemas.RateLimit.properties.period_sec.maximum).toBe(86_400);
  });
});
