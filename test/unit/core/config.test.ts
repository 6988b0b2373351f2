import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/env';

describe('config', () => {
  it('takes the original defaults', () => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token' });
    expect(r.ok && r.config).toMatchObject({
      WORKER_HEARTBEAT_TIMEOUT_SEC: 90,
      RATE_LIMIT_JOBS_PER_MIN: 120,
      IDEMPOTENCY_TTL_SEC: 86400,
      BACKOFF_MAX_SEC: 60,
      MIN_WORKERS: 1,
      MAX_WORKERS: 4,
      QUEUE_THRESHOLD_HIGH: 10,
      QUEUE_THRESHOLD_LOW: 2,
      SCALE_DOWN_STABLE_SEC: 30,
    });
  });
  it.each([
    [{ MIN_WORKERS: '5', MAX_WORKERS: '2' }, 'MIN_WORKERS'],
    [{ QUEUE_THRESHOLD_LOW: '20', QUEUE_THRESHOLD_HIGH: '10' }, 'QUEUE_THRESHOLD_LOW'],
    [{ RATE_LIMIT_JOBS_PER_MIN: '-1' }, 'RATE_LIMIT_JOBS_PER_MIN'],
    [{ WORKER_HEARTBEAT_TIMEOUT_SEC: 'abc' }, 'WORKER_HEARTBEAT_TIMEOUT_SEC'],
    [{ ALLOW_PRIVATE_WORKER_URLS: 'maybe' }, 'ALLOW_PRIVATE_WORKER_URLS'],
    [{ WORKER_TOKEN: undefined }, 'WORKER_TOKEN'],
  ])('names the bad variable in %o', (vars, name) => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token', ...vars });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.variable)).toContain(name);
  });
  it('treats an empty value as unset', () => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token', MAX_WORKERS: '' });
    expect(r.ok && r.config.MAX_WORKERS).toBe(4);
  });
});
