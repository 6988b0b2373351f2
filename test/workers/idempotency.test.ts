import { describe, expect, it } from 'vitest';
import { api, submit } from './helpers';

describe('X-Idempotency-Key', () => {
  it('answers a repeat with 200 and the same job, creating nothing', async () => {
    const queue = `idem-a-${Date.now()}`;
    const body = { payload: { order: 42 }, queue };
    const first = await submit(body, { 'x-idempotency-key': 'order-42' });
    const again = await submit(body, { 'x-idempotency-key': 'order-42' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.job.id).toBe(first.body.job.id);
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(1);
  });

  it('answers the same key with a different body with 409', async () => {
    const queue = `idem-b-${Date.now()}`;
    expect((await submit({ payload: 'a', queue }, { 'x-idempotency-key': 'k-b' })).status).toBe(
      201,
    );
    const clash = await submit({ payload: 'b', queue }, { 'x-idempotency-key': 'k-b' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('idempotency_key_reused');
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(1);
  });

  it('creates exactly one job for concurrent repeats', async () => {
    const queue = `idem-c-${Date.now()}`;
    const body = { payload: 'once', queue };
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => submit(body, { 'x-idempotency-key': 'k-concurrent' })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(11);
    expect(new Set(answers.map((a) => a.body.job.id)).size).toBe(1);
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(1);
  });

  it('keeps keys apart: different keys make different jobs', async () => {
    const queue = `idem-d-${Date.now()}`;
    const a = await submit({ payload: 1, queue }, { 'x-idempotency-key': 'k-d1' });
    const b = await submit({ payload: 1, queue }, { 'x-idempotency-key': 'k-d2' });
    expect(a.body.job.id).not.toBe(b.body.job.id);
  });

  it('works for batches: a repeated batch returns the same ids', async () => {
    const queue = `idem-e-${Date.now()}`;
    const body = {
      jobs: [
        { payload: 1, queue },
        { payload: 2, queue },
      ],
    };
    const first = await api('POST', '/jobs/batch', body, { 'x-idempotency-key': 'batch-e' });
    const again = await api('POST', '/jobs/batch', body, { 'x-idempotency-key': 'batch-e' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.ids).toEqual(first.body.ids);
  });
});
