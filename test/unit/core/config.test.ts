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
      MAX_QUEUES_PER_TENANT: 100,
      QUEUE_IDLE_RETIRE_SEC: 86400,
    });
  });
  it.each([
    [{ MIN_WORKERS: '5', MAX_WORKERS: '2' }, 'MIN_WORKERS'],
    [{ QUEUE_THRESHOLD_LOW: '20', QUEUE_THRESHOLD_HIGH: '10' }, 'QUEUE_THRESHOLD_LOW'],
    [{ RATE_LIMIT_JOBS_PER_MIN: '-1' }, 'RATE_LIMIT_JOBS_PER_MIN'],
    [{ WORKER_HEARTBEAT_TIMEOUT_SEC: 'abc' }, 'WORKER_HEARTBEAT_TIMEOUT_SEC'],
    [{ ALLOW_PRIVATE_WORKER_URLS: 'maybe' }, 'ALLOW_PRIVATE_WORKER_URLS'],
    [{ WORKER_TOKEN: undefined }, 'WORKER_TOKEN'],
    [{ MAX_QUEUES_PER_TENANT: '0' }, 'MAX_QUEUES_PER_TENANT'],
    [{ QUEUE_IDLE_RETIRE_SEC: '-5' }, 'QUEUE_IDLE_RETIRE_SEC'],
    [{ WORKER_TOKEN: 'nk_looks-like-a-node-key' }, 'WORKER_TOKEN'],
    [{ NODE_KEY_CACHE_SEC: '3601' }, 'NODE_KEY_CACHE_SEC'],
    [{ ALLOW_SHARED_WORKER_TOKEN: 'no' }, 'ALLOW_SHARED_WORKER_TOKEN'],
  ])('names the bad variable in %o', (vars, name) => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token', ...vars });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.variable)).toContain(name);
  });
  // Issue 12, item 4: a 4 s timeout with the 5 s interval reaped a healthy node every cycle.
  it('refuses a heartbeat interval that leaves no room in the timeout, naming both variables', () => {
    for (const [interval, timeout] of [
      ['5', '4'],
      ['2', '4'],
      ['31', '90'],
    ]) {
      const r = parseConfig({
        WORKER_TOKEN: 'a-long-token',
        HEARTBEAT_INTERVAL_SEC: interval,
        WORKER_HEARTBEAT_TIMEOUT_SEC: timeout,
      });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.problems.map((p) => p.variable).sort()).toEqual([
        'HEARTBEAT_INTERVAL_SEC',
        'WORKER_HEARTBEAT_TIMEOUT_SEC',
      ]);
      expect(r.problems[0].message).toMatch(/HEARTBEAT_INTERVAL_SEC.*WORKER_HEARTBEAT_TIMEOUT_SEC/);
    }
    const ok = parseConfig({
      WORKER_TOKEN: 'a-long-token',
      HEARTBEAT_INTERVAL_SEC: '30',
      WORKER_HEARTBEAT_TIMEOUT_SEC: '90',
    });
    expect(ok.ok && ok.config.HEARTBEAT_INTERVAL_SEC).toBe(30);
  });
  it.each([
    [undefined, 5],
    ['90', 5],
    ['15', 5],
    ['12', 4],
    ['4', 1.333],
    ['1', 0.333],
  ])('derives the heartbeat interval from a timeout of %s s when unset: %s s', (timeout, want) => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token', WORKER_HEARTBEAT_TIMEOUT_SEC: timeout });
    expect(r.ok && r.config.HEARTBEAT_INTERVAL_SEC).toBe(want);
  });
  it('treats an empty value as unset', () => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token', MAX_WORKERS: '' });
    expect(r.ok && r.config.MAX_WORKERS).toBe(4);
  });
});
