import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, submit, waitFor } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
const stubOf = (queue: string) => env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));

async function bearerOf(tenant: string): Promise<{ authorization: string }> {
  const res = await api('POST', '/admin/keys', { tenant, name: `${tenant} flow` }, ADMIN);
  expect(res.status).toBe(201);
  return { authorization: `Bearer ${res.body.key}` };
}

const listOf = async (queue: string, headers: Record<string, string> = {}) =>
  (await api('GET', `/jobs?queue=${queue}&limit=100`, undefined, headers)).body;

describe('debounce', () => {
  it('a burst makes one job with the last payload, due delay_sec after the last submission', async () => {
    const queue = `deb-a-${Date.now()}`;
    const debounce = { key: 'cart-1', delay_sec: 30 };
    const first = await submit({ payload: { v: 1 }, queue, debounce });
    expect(first.status).toBe(201);
    expect(first.body.job.status).toBe('scheduled');
    expect(first.body.debounced).toBeUndefined();
    const firstDue = Date.parse(first.body.job.next_attempt_at);
    let last = first;
    for (const v of [2, 3]) {
      last = await submit({ payload: { v }, queue, debounce });
      expect(last.status).toBe(200);
      expect(last.body.debounced).toBe(true);
      expect(last.body.job.id).toBe(first.body.job.id);
    }
    expect(last.body.job.payload).toEqual({ v: 3 });
    expect(Date.parse(last.body.job.next_attempt_at)).toBeGreaterThanOrEqual(firstDue);
    const list = await listOf(queue);
    expect(list.total).toBe(1);
    expect(list.jobs[0]).toMatchObject({ payload: { v: 3 }, status: 'scheduled' });
  });

  it('holds under concurrent submissions: one job, and every answer names it', async () => {
    const queue = `deb-b-${Date.now()}`;
    const debounce = { key: 'k', delay_sec: 60 };
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, v) => submit({ payload: { v }, queue, debounce })),
    );
    expect(answers.map((a) => a.status).filter((s) => s === 201)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.job.id)).size).toBe(1);
    expect((await listOf(queue)).total).toBe(1);
  });

  it('survives a restart of the object: the next submission still replaces the pending job', async () => {
    const queue = `deb-c-${Date.now()}`;
    const debounce = { key: 'k', delay_sec: 60 };
    const first = (await submit({ payload: 'a', queue, debounce })).body.job;
    await evictDurableObject(stubOf(queue));
    const second = await submit({ payload: 'b', queue, debounce });
    expect(second.status).toBe(200);
    expect(second.body.job.id).toBe(first.id);
    await evictDurableObject(stubOf(queue));
    expect((await api('GET', `/jobs/${first.id}`)).body.job).toMatchObject({
      payload: 'b',
      status: 'scheduled',
    });
  });

  it('once the pending job is due, the next submission makes a new pending job', async () => {
    const queue = `deb-d-${Date.now()}`;
    const debounce = { key: 'k', delay_sec: 1 };
    const first = (await submit({ payload: 'a', queue, debounce })).body.job;
    await waitFor('the debounced job to be queued', async () => {
      const job = (await api('GET', `/jobs/${first.id}`)).body.job;
      return job.status === 'queued' ? job : undefined;
    });
    const next = await submit({ payload: 'b', queue, debounce });
    expect(next.status).toBe(201);
    expect(next.body.job.id).not.toBe(first.id);
    expect((await api('GET', `/jobs/${first.id}`)).body.job.payload).toBe('a');
  });

  it('keeps keys apart per tenant and per queue', async () => {
    const stamp = Date.now();
    const debounce = { key: 'same', delay_sec: 60 };
    const a = await bearerOf(`deb-ta-${stamp}`);
    const b = await bearerOf(`deb-tb-${stamp}`);
    const qa = `deb-e-${stamp}`;
    const one = await api('POST', '/jobs', { payload: 1, queue: qa, debounce }, a);
    const two = await api('POST', '/jobs', { payload: 2, queue: `${qa}-b`, debounce }, a);
    const three = await api('POST', '/jobs', { payload: 3, queue: `${qa}-c`, debounce }, b);
    expect([one.status, two.status, three.status]).toEqual([201, 201, 201]);
    expect(new Set([one.body.job.id, two.body.job.id, three.body.job.id]).size).toBe(3);
  });

  it('with X-Idempotency-Key: a retry answers the pending job and moves nothing', async () => {
    const queue = `deb-f-${Date.now()}`;
    const debounce = { key: 'k', delay_sec: 60 };
    const first = (await submit({ payload: 'a', queue, debounce })).body.job;
    const body = { payload: 'b', queue, debounce };
    const hit = await submit(body, { 'x-idempotency-key': `deb-f-${first.id}` });
    expect(hit.body).toMatchObject({ debounced: true, job: { id: first.id } });
    const due = hit.body.job.next_attempt_at;
    const retry = await submit(body, { 'x-idempotency-key': `deb-f-${first.id}` });
    expect(retry.status).toBe(200);
    expect(retry.body.job.id).toBe(first.id);
    expect(retry.body.job.next_attempt_at).toBe(due);
  });

  it('refuses bad fields and combinations with 400 naming the field', async () => {
    const queue = `deb-g-${Date.now()}`;
    const cases: [Record<string, unknown>, string][] = [
      [{ debounce: { key: '', delay_sec: 5 } }, 'debounce.key'],
      [{ debounce: { key: 'k', delay_sec: 0 } }, 'debounce.delay_sec'],
      [{ debounce: { key: 'k', delay_sec: 86_401 } }, 'debounce.delay_sec'],
      [{ debounce: { key: 'k' } }, 'debounce.delay_sec'],
      [{ debounce: { key: 'k', delay_sec: 5, extra: 1 } }, 'debounce.extra'],
      [{ debounce: { key: 'k', delay_sec: 5 }, delay_sec: 3 }, 'debounce'],
      [{ debounce: { key: 'k', delay_sec: 5 }, dedup_key: 'd' }, 'dedup_key'],
    ];
    for (const [extra, field] of cases) {
      const res = await submit({ payload: 1, queue, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      const fields = res.body.error.details.problems.map((p: { field: string }) => p.field);
      expect(fields, JSON.stringify(extra)).toContain(field);
    }
    const batch = await api('POST', '/jobs/batch', {
      jobs: [
        { payload: 1, queue },
        { payload: 2, queue, debounce: { key: 'k', delay_sec: 5 } },
      ],
    });
    expect(batch.status).toBe(400);
    expect(batch.body.error.details.problems[0].field).toBe('jobs.1.debounce');
    expect((await listOf(queue)).total).toBe(0);
  });
});

describe('dedup_key', () => {
  it('a second submission inside the window answers 200 with the first job, whatever its status', async () => {
    const queue = `dd-a-${Date.now()}`;
    const first = await submit({ payload: 'a', queue, dedup_key: 'order-9' });
    expect(first.status).toBe(201);
    await api('POST', `/jobs/${first.body.job.id}/cancel`);
    const again = await submit({ payload: 'b', queue, dedup_key: 'order-9' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      deduplicated: true,
      job: { id: first.body.job.id, payload: 'a', status: 'cancelled' },
    });
    expect((await listOf(queue)).total).toBe(1);
  });

  it("spans the tenant's queues, and holds under concurrent submissions", async () => {
    const stamp = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        submit({ payload: i, queue: `dd-b-${stamp}-${i % 2}`, dedup_key: `conc-${stamp}` }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    // A loser of the other queue may be told to retry while the winner is on its way (409).
    for (const a of answers) expect([200, 201, 409]).toContain(a.status);
    const answered = answers.filter((a) => a.status !== 409);
    expect(new Set(answered.map((a) => a.body.job.id)).size).toBe(1);
    for (const a of answers.filter((a) => a.status === 409))
      expect(a.body.error).toMatchObject({
        code: 'dedup_key_pending',
        details: { job_id: answered[0].body.job.id },
      });
    const total = (await listOf(`dd-b-${stamp}-0`)).total + (await listOf(`dd-b-${stamp}-1`)).total;
    expect(total).toBe(1);
  });

  it('after the window a new job is made; other tenants have their own keys', async () => {
    const stamp = Date.now();
    const queue = `dd-c-${stamp}`;
    const first = (await submit({ payload: 1, queue, dedup_key: 'w', dedup_ttl_sec: 1 })).body.job;
    const other = await api(
      'POST',
      '/jobs',
      { payload: 1, queue: `${queue}-t`, dedup_key: 'w' },
      await bearerOf(`dd-t-${stamp}`),
    );
    expect(other.status).toBe(201);
    const later = await waitFor('the window to end', async () => {
      const res = await submit({ payload: 2, queue, dedup_key: 'w', dedup_ttl_sec: 1 });
      return res.status === 201 ? res : undefined;
    });
    expect(later.body.job.id).not.toBe(first.id);
  });

  it('keeps X-Idempotency-Key apart: a new key with a taken dedup_key still gets the first job', async () => {
    const queue = `dd-d-${Date.now()}`;
    const first = await submit(
      { payload: 1, queue, dedup_key: 'x' },
      { 'x-idempotency-key': 'i1' },
    );
    const second = await submit(
      { payload: 2, queue, dedup_key: 'x' },
      { 'x-idempotency-key': 'i2' },
    );
    const retry = await submit(
      { payload: 2, queue, dedup_key: 'x' },
      { 'x-idempotency-key': 'i2' },
    );
    expect([first.status, second.status, retry.status]).toEqual([201, 200, 200]);
    expect(new Set([first, second, retry].map((r) => r.body.job.id)).size).toBe(1);
    expect((await listOf(queue)).total).toBe(1);
  });

  it('refuses bad fields with 400 naming the field', async () => {
    const queue = `dd-e-${Date.now()}`;
    const cases: [Record<string, unknown>, string][] = [
      [{ dedup_key: '' }, 'dedup_key'],
      [{ dedup_key: 'x'.repeat(129) }, 'dedup_key'],
      [{ dedup_key: 'k', dedup_ttl_sec: 0 }, 'dedup_ttl_sec'],
      [{ dedup_key: 'k', dedup_ttl_sec: 7 * 86_400 + 1 }, 'dedup_ttl_sec'],
      [{ dedup_ttl_sec: 5 }, 'dedup_ttl_sec'],
    ];
    for (const [extra, field] of cases) {
      const res = await submit({ payload: 1, queue, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      const fields = res.body.error.details.problems.map((p: { field: string }) => p.field);
      expect(fields, JSON.stringify(extra)).toContain(field);
    }
    const batch = await api('POST', '/jobs/batch', {
      jobs: [{ payload: 1, queue, dedup_key: 'b' }],
    });
    expect(batch.status).toBe(400);
    expect(batch.body.error.details.problems[0].field).toBe('jobs.0.dedup_key');
  });
});
