import { describe, expect, it } from 'vitest';
import { api, submit } from './helpers';

describe('POST /jobs', () => {
  it('accepts a job with defaults and shows it right away', async () => {
    const res = await submit({ payload: 'hello' });
    expect(res.status).toBe(201);
    const job = res.body.job;
    expect(job).toMatchObject({
      queue: 'default',
      type: 'echo',
      payload: 'hello',
      priority: 1,
      status: 'queued',
      attempts: 0,
      max_retries: 3,
      timeout_sec: 300,
      tenant: 'default',
    });
    expect(job.id).toMatch(/^default\.[0-9A-Z]{26}$/);
    const got = await api('GET', `/jobs/${job.id}`);
    expect(got.status).toBe(200);
    expect(got.body.job).toEqual(job);
  });

  it('carries X-Request-ID: the client one or a new one', async () => {
    const mine = await api('GET', '/health', undefined, { 'x-request-id': 'trace-123' });
    expect(mine.headers.get('x-request-id')).toBe('trace-123');
    const fresh = await api('GET', '/health');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await api('GET', '/jobs/nope');
    expect(err.headers.get('x-request-id')).toBeTruthy();
  });
});
