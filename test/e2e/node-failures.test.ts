/**
 * Issue 3, "Done when": nodes that die or misbehave.
 * - SIGKILL mid-job: after the heartbeat timeout the job runs to success on the other node, and the
 *   late result of the killed attempt, replayed by the test, is refused with 409.
 * - A node that answers 500 to dispatch: retried with growing delays, succeeds on a healthy node;
 *   with no healthy node, `failed` after max_retries with the error recorded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchRequest } from '../../src/protocol/dispatch';
import {
  freePort,
  startBadNode,
  startRecordingProxy,
  startStack,
  waitFor,
  type Stack,
} from './harness';

describe('node failures', () => {
  let stack: Stack;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    stack = await startStack();
  });
  // Each case starts from an empty registry: a dead node still listed would take a dispatch.
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    await Promise.all(stack.nodes.map((n) => n.kill()));
    await waitFor('an empty registry', async () => (await stack.workers()).length === 0, 20_000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("SIGKILL mid-job: the job is re-run on the other node, and the dead attempt's late result gets 409", async () => {
    // Node A sits behind a recording proxy so the test learns the attempt and token it was given.
    const portA = await freePort();
    const proxy = await startRecordingProxy(portA);
    cleanups.push(() => proxy.close());
    const a = await stack.startNode({
      id: 'victim',
      env: { WORKER_PORT: String(portA), WORKER_ENDPOINT: proxy.url },
    });

    const job = await stack.submit({ type: 'sleep', payload: { ms: 2_000 }, max_retries: 3 });
    await stack.waitForJob(job.id, (j) => j.status === 'running' && j.worker_id === a.id);
    await a.waitForLog('job_started', (l) => l.job_id === job.id);
    const dispatch = proxy.requests
      .filter((r) => r.path === '/run')
      .flatMap((r) => (JSON.parse(r.body) as DispatchRequest).jobs)
      .find((j) => j.job_id === job.id)!;
    expect(dispatch).toBeDefined();

    const b = await stack.startNode({ id: 'survivor' });
    await a.kill();
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', worker_id: b.id });
    expect(done.attempts).toBeGreaterThan(dispatch.attempt);
    expect((await stack.workers()).map((w) => w.id)).not.toContain(a.id);

    const late = await stack.call(
      'POST',
      `/jobs/${job.id}/result`,
      {
        worker_id: a.id,
        attempt: dispatch.attempt,
        token: dispatch.token,
        exit_code: 0,
        stdout: '{"late":true}',
        stderr: '',
        duration_ms: 2000,
        executor: 'native',
        timed_out: false,
      },
      { authorization: `Bearer ${stack.token}` },
    );
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('stale_attempt');
    expect(await stack.job(job.id)).toMatchObject({
      status: 'succeeded',
      worker_id: b.id,
      result: done.result,
    });
  });

  it('a node answering 500 to dispatch: retried with growing delays, then succeeds on a healthy node', async () => {
    const bad = await startBadNode(stack);
    cleanups.push(() => bad.stop());
    const job = await stack.submit({ type: 'echo', payload: 'persist', max_retries: 6 });
    await waitFor(
      'three dispatches to the bad node',
      () => bad.dispatchesOf(job.id).length >= 3,
      30_000,
    );
    const at = bad.dispatchesOf(job.id);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    expect(gaps[0], `gaps between dispatches: ${gaps.join(', ')} ms`).toBeGreaterThan(1_000);
    expect(gaps[1], `gaps between dispatches: ${gaps.join(', ')} ms`).toBeGreaterThan(
      gaps[0] + 500,
    );
    const mid = await stack.job(job.id);
    expect(mid.status).not.toBe('failed');
    expect(mid.error ?? '').toMatch(/500/);

    const healthy = await stack.startNode({ id: 'healthy' });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({
      status: 'succeeded',
      worker_id: healthy.id,
      result: { exit_code: 0 },
    });
  });

  it('a node answering 500 with no healthy node: failed after max_retries, with the error', async () => {
    const bad = await startBadNode(stack);
    cleanups.push(() => bad.stop());
    const job = await stack.submit({ type: 'echo', payload: 'doomed', max_retries: 2 });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(3);
    expect(bad.dispatchesOf(job.id)).toHaveLength(3);
    expect(done.error).toMatch(/HTTP 500/);
  });
});
