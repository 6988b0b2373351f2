/**
 * Progress, logs and events end to end: a running job's stderr progress lines show on the job while
 * it runs, its other stderr lines become its logs, and GET /jobs/:id/events streams its changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/protocol/job';
import { startStack, waitFor, type Stack } from './harness';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.startNode({ env: { ALLOW_SHELL: '1', SHELL_ALLOWLIST: 'sh' } });
});
afterAll(async () => stack?.stop());

const script = [
  `echo '{"progress":40,"message":"loading"}' >&2`,
  `echo 'step one' >&2`,
  'sleep 2',
  `echo 'step two' >&2`,
  `echo '{"progress":100,"message":"done"}' >&2`,
  `echo '{"ok":true}'`,
].join('; ');

async function events(id: string): Promise<{ event: string; data: any }[]> {
  const res = await fetch(`${stack.api}/jobs/${id}/events`);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text(); // the server ends the stream when the job ends
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message',
      data: JSON.parse(/^data: (.*)$/m.exec(block)![1]),
    }));
}

describe('progress, logs and events', () => {
  it('shows progress while the job runs, keeps its log lines, and streams its changes', async () => {
    const job = await stack.submit({ type: 'shell', payload: { argv: ['sh', '-c', script] } });
    const streamed = events(job.id);
    const running = await stack.waitForJob(
      job.id,
      (j) => j.status === 'running' && j.progress?.percent === 40,
      15_000,
    );
    expect(running.progress).toMatchObject({ percent: 40, message: 'loading', attempt: 1 });
    const done = await stack.waitForJob(job.id, 'succeeded', 20_000);
    expect(done.progress).toMatchObject({ percent: 100, message: 'done' });
    const logs = await stack.call<{
      logs: { line: string; attempt: number }[];
      next_after: number;
    }>('GET', `/jobs/${job.id}/logs`);
    expect(logs.body.logs.map((l) => l.line)).toEqual(['step one', 'step two']);
    const after = await stack.call<{ logs: unknown[] }>(
      'GET',
      `/jobs/${job.id}/logs?after=${logs.body.next_after}`,
    );
    expect(after.body.logs).toEqual([]);

    const seen = await streamed;
    expect(seen.at(-1)).toEqual({ event: 'end', data: { status: 'succeeded' } });
    const statuses = seen.filter((e) => e.event === 'job').map((e) => (e.data as Job).status);
    expect(statuses).toContain('running');
    expect(statuses.at(-1)).toBe('succeeded');
    expect(seen.some((e) => e.event === 'job' && (e.data as Job).progress?.percent === 40)).toBe(
      true,
    );
  });

  it('refuses progress from an attempt that does not hold the job', async () => {
    const job = await stack.submit({ payload: 'x' });
    await stack.waitForJob(job.id, 'succeeded');
    const r = await stack.call(
      'POST',
      `/jobs/${job.id}/progress`,
      { worker_id: 'someone', attempt: 1, token: 'forged', percent: 5 },
      { authorization: `Bearer ${stack.token}` },
    );
    expect(r.status).toBe(409);
    expect(
      (
        await stack.call('POST', `/jobs/${job.id}/progress`, {
          worker_id: 'someone',
          attempt: 1,
          token: 'forged',
        })
      ).status,
    ).toBe(401);
    await waitFor('no progress recorded', async () => (await stack.job(job.id)).progress === null);
  });
});
