import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  canTransition,
  IllegalTransition,
  isPermanentExit,
  isTerminal,
  reopen,
  transition,
  TRANSITIONS,
} from '../../../src/core/job-state';
import { JOB_STATUSES } from '../../../src/protocol/job';
import { retryDelayMs } from '../../../src/core/backoff';
import { newJobId, queueOfJobId, newToken } from '../../../src/core/ids';
import { JobId } from '../../../src/protocol/common';

describe('job state machine', () => {
  it('reopens only a failed or cancelled job, to queued (a retry)', () => {
    expect(reopen('failed')).toBe('queued');
    expect(reopen('cancelled')).toBe('queued');
    for (const st of JOB_STATUSES.filter((x) => x !== 'failed' && x !== 'cancelled'))
      expect(() => reopen(st)).toThrow(IllegalTransition);
  });

  it('covers every status and only terminal ones have no way out', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...JOB_STATUSES].sort());
    expect(JOB_STATUSES.filter(isTerminal).sort()).toEqual(['cancelled', 'failed', 'succeeded']);
  });

  it.each([
    ['queued', 'running', true],
    ['scheduled', 'queued', true],
    ['running', 'succeeded', true],
    ['running', 'retrying', true],
    ['running', 'queued', true],
    ['retrying', 'queued', true],
    ['queued', 'succeeded', false],
    ['succeeded', 'running', false],
    ['cancelled', 'queued', false],
    ['failed', 'retrying', false],
    ['scheduled', 'running', false],
    ['waiting', 'queued', true],
    ['waiting', 'scheduled', true],
    ['waiting', 'cancelled', true],
    ['waiting', 'running', false],
    ['queued', 'waiting', false],
    ['queued', 'scheduled', true],
    ['retrying', 'scheduled', false],
  ] as const)('%s -> %s allowed: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
    if (ok) expect(transition(from, to)).toBe(to);
    else expect(() => transition(from, to)).toThrow(IllegalTransition);
  });

  it('retries until the budget is spent, and never after a permanent failure', () => {
    expect(afterFailure(0, 3, false)).toEqual({ next: 'retrying', failures: 1 });
    expect(afterFailure(2, 3, false)).toEqual({ next: 'retrying', failures: 3 });
    expect(afterFailure(3, 3, false)).toEqual({ next: 'failed', failures: 4 });
    expect(afterFailure(0, 0, false)).toEqual({ next: 'failed', failures: 1 });
    expect(afterFailure(0, 10, true)).toEqual({ next: 'failed', failures: 1 });
    expect([0, 1, 2, 3, 4, 5].filter(isPermanentExit)).toEqual([3, 4]);
  });
});

describe('backoff', () => {
  const policy = { baseSec: 1, maxSec: 60 };
  it('doubles from 2 s and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((f) => retryDelayMs(f, policy))).toEqual([
      2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });
  it('waits the same with a fixed policy, still capped', () => {
    expect(
      [1, 2, 9].map((f) => retryDelayMs(f, { type: 'fixed', baseSec: 5, maxSec: 60 })),
    ).toEqual([5000, 5000, 5000]);
    expect(retryDelayMs(1, { type: 'fixed', baseSec: 90, maxSec: 60 })).toBe(60000);
  });
  it('keeps jitter within [delay/2, delay]', () => {
    expect(retryDelayMs(3, { ...policy, jitter: true }, () => 0)).toBe(4000);
    expect(retryDelayMs(3, { ...policy, jitter: true }, () => 0.999999)).toBe(8000);
  });
});

describe('ids', () => {
  it('name their queue and are time-ordered', () => {
    const a = newJobId('emails', 1_700_000_000_000);
    const b = newJobId('emails', 1_700_000_000_001);
    expect(JobId.safeParse(a).success).toBe(true);
    expect(queueOfJobId(a)).toBe('emails');
    expect(a.slice(7, 17) < b.slice(7, 17)).toBe(true);
    expect(newToken()).toMatch(/^[0-9a-f]{32}$/);
    expect(newToken()).not.toBe(newToken());
  });
});
