import { describe, expect, it } from 'vitest';
import { callWithVars } from './helpers';

/** The app with a low RATE_LIMIT_JOBS_PER_MIN, as a deployment would set it. */
const call = callWithVars;

const limit3 = { RATE_LIMIT_JOBS_PER_MIN: '3' };

describe('rate limiting job submission', () => {
  it('answers 429 rate_limited with Retry-After once a client has used its jobs for the minute', async () => {
    const ip = { 'cf-connecting-ip': '192.0.2.1' };
    for (let i = 0; i < 3; i++) {
      const ok = await call(limit3, 'POST', '/jobs', { payload: i, queue: 'rl-a' }, ip);
      expect(ok.status).toBe(201);
      expect(ok.headers.get('ratelimit-remaining')).toBe(String(2 - i));
    }
    const limited = await call(limit3, 'POST', '/jobs', { payload: 4, queue: 'rl-a' }, ip);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.message).toMatch(/3 jobs per minute/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20); // one job every 20 s at 3 per minute
    expect(limited.body.error.details).toMatchObject({ limit_per_min: 3, cost: 1 });
    // The refused job was not created.
    const list = await call(limit3, 'GET', '/jobs?queue=rl-a');
    expect(list.body.total).toBe(3);
  });

  it('keeps clients apart: another address has its own allowance', async () => {
    for (let i = 0; i < 3; i++)
      expect(
        (await call(limit3, 'POST', '/jobs', { payload: i }, { 'cf-connecting-ip': '192.0.2.2' }))
          .status,
      ).toBe(201);
    expect(
      (await call(limit3, 'POST', '/jobs', { payload: 9 }, { 'cf-connecting-ip': '192.0.2.2' }))
        .status,
    ).toBe(429);
    expect(
      (await call(limit3, 'POST', '/jobs', { payload: 9 }, { 'cf-connecting-ip': '192.0.2.3' }))
        .status,
    ).toBe(201);
  });

  it('counts each job of a batch, and refuses a batch larger than the limit outright', async () => {
    const ip = { 'cf-connecting-ip': '192.0.2.4' };
    const two = await call(
      limit3,
      'POST',
      '/jobs/batch',
      { jobs: [{ payload: 1 }, { payload: 2 }] },
      ip,
    );
    expect(two.status).toBe(201);
    const twoMore = await call(
      limit3,
      'POST',
      '/jobs/batch',
      { jobs: [{ payload: 3 }, { payload: 4 }] },
      ip,
    );
    expect(twoMore.status).toBe(429);
    expect(twoMore.body.error.details.cost).toBe(2);
    const five = await call(
      limit3,
      'POST',
      '/jobs/batch',
      { jobs: [1, 2, 3, 4, 5].map((p) => ({ payload: p })) },
      { 'cf-connecting-ip': '192.0.2.5' },
    );
    expect(five.status).toBe(429);
    expect(five.headers.get('retry-after')).toBe('60');
    expect(five.body.error.message).toMatch(
      /batch of 5 jobs is more than RATE_LIMIT_JOBS_PER_MIN \(3\)/,
    );
  });

  it('does not limit reads, other routes, or anything when RATE_LIMIT_JOBS_PER_MIN is 0', async () => {
    const ip = { 'cf-connecting-ip': '192.0.2.6' };
    for (let i = 0; i < 5; i++)
      expect((await call(limit3, 'GET', '/jobs', undefined, ip)).status).toBe(200);
    for (let i = 0; i < 6; i++)
      expect(
        (await call({ RATE_LIMIT_JOBS_PER_MIN: '0' }, 'POST', '/jobs', { payload: i }, ip)).status,
      ).toBe(201);
  });

  it('falls back to one fixed key without CF-Connecting-IP (local development)', async () => {
    const vars = { RATE_LIMIT_JOBS_PER_MIN: '2' };
    const queue = `rl-local-${Date.now()}`;
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call(vars, 'POST', '/jobs', { payload: i, queue })).status);
    // Other files may have spent some of the local key's allowance already; the third is over it regardless.
    expect(statuses[2]).toBe(429);
  });
});
