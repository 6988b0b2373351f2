import { describe, expect, it } from 'vitest';
import { makeCtx } from '../../../cli/context';
import { JobEnded } from '../../../cli/exit-codes';
import {
  ProgressReporter,
  progressBar,
  renderTrail,
  waitForJob,
  MAX_POLL_FAILURES,
} from '../../../cli/wait';
import { apiError, fakeIo, makeJob } from './fake-io';

describe('progress rendering', () => {
  it('draws a bar with the percentage and message, clamped', () => {
    expect(progressBar({ percent: 40, message: 'compressing' })).toBe(
      '[########------------]  40% compressing',
    );
    expect(progressBar({ percent: 250 })).toBe('[####################] 100%');
    expect(progressBar({ message: 'warming up' })).toBe('warming up');
  });

  it('shows the trail of states with when each was reached, and the time so far until the end', () => {
    const steps = [
      { status: 'queued' as const, attempt: 0, at: 12 },
      { status: 'running' as const, attempt: 1, at: 400 },
    ];
    expect(renderTrail('j', steps, { percent: 50 }, 3200)).toBe(
      'j  queued 12ms → running 400ms  [##########----------]  50%  (3.2s)',
    );
    expect(
      renderTrail('j', [...steps, { status: 'succeeded', attempt: 1, at: 1200 }], null, 1200),
    ).toBe('j  queued 12ms → running 400ms → succeeded 1.2s');
  });

  it('writes one line per change into a log, none per poll', () => {
    const io = fakeIo(() => ({ status: 500 }));
    const reporter = new ProgressReporter(makeCtx({}, io), 'j', io.now());
    for (const job of [
      makeJob(),
      makeJob(),
      makeJob({ status: 'running', attempts: 1 }),
      makeJob({ status: 'running', attempts: 1 }),
      makeJob({ status: 'succeeded', attempts: 1 }),
    ])
      reporter.update(job);
    reporter.finish();
    expect(io.stderr).toBe('j  queued 0ms\nj  running 0ms\nj  succeeded 0ms\n');
  });

  it('on a terminal redraws one line, keeps the latest steps and fits the width', () => {
    const io = { ...fakeIo(() => ({ status: 500 })), errIsTTY: true, columns: 60 };
    let drawn = '';
    io.err = (s: string) => void (drawn += s);
    const reporter = new ProgressReporter(makeCtx({}, io), 'j', io.now());
    for (let attempt = 1; attempt <= 3; attempt++) {
      reporter.update(makeJob({ status: 'running', attempts: attempt }));
      reporter.update(makeJob({ status: 'retrying', attempts: attempt }));
    }
    reporter.finish();
    const frames = drawn.split('\r\x1b[K').filter(Boolean);
    expect(frames).toHaveLength(6);
    expect(frames.at(-1)).toBe('j  … → running (attempt 2) 0ms → retrying 0ms → running (a…\n');
    expect(frames.every((f) => f.replace('\n', '').length <= 59)).toBe(true);
  });
});

describe('waitForJob', () => {
  it('polls until the job is terminal, riding out a brief outage', async () => {
    const answers = [
      { status: 200, body: { job: makeJob({ status: 'running', attempts: 1 }) } },
      apiError(503, 'storage_unavailable', 'x'),
      { status: 200, body: { job: makeJob({ status: 'succeeded', attempts: 1 }) } },
    ];
    const io = fakeIo(() => answers.shift()!);
    const job = await waitForJob(makeCtx({}, io), 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q');
    expect(job.status).toBe('succeeded');
    expect(io.requests.map((r) => r.url.pathname)).toEqual(
      Array(3).fill('/jobs/default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q'),
    );
  });

  it('gives up after repeated outages, and at once on a 404', async () => {
    const down = fakeIo(() => new TypeError('fetch failed'));
    await expect(waitForJob(makeCtx({}, down), 'x')).rejects.toThrow(/cannot reach/);
    expect(down.requests).toHaveLength(MAX_POLL_FAILURES + 1);
    const gone = fakeIo(() => apiError(404, 'job_not_found', 'no such job'));
    await expect(waitForJob(makeCtx({}, gone), 'x')).rejects.toThrow(/no such job/);
    expect(gone.requests).toHaveLength(1);
  });

  it('stops at --wait-timeout with exit 3, backing off while nothing changes', async () => {
    const io = fakeIo(() => ({ status: 200, body: { job: makeJob({ status: 'queued' }) } }));
    const err = await waitForJob(makeCtx({}, io), 'x', { timeoutMs: 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(JobEnded);
    expect(err.exitCode).toBe(3);
    // 200 ms growing by 1.5x to 2 s: far fewer polls than 10 s / 200 ms.
    expect(io.requests.length).toBeLessThan(15);
  });
});
