/**
 * Issue 3, "Done when": a job longer than its timeout is killed and reported; cancel of a running job
 * kills it; SIGTERM on a node mid-job lets the job finish and be reported, then the node deregisters
 * and exits 0. Issue 4: a node without the native binary still runs jobs, through wasm.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitFor, type NodeProcess, type Stack } from './harness';

describe('timeouts, cancel and graceful shutdown', () => {
  let stack: Stack;
  let node: NodeProcess | undefined;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterEach(async () => {
    await node?.kill();
    node = undefined;
    await waitFor(
      'the node to leave the registry',
      async () => (await stack.workers()).length === 0,
      20_000,
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('kills a job that outlives its timeout and reports it as timed out', async () => {
    node = await stack.startNode();
    const job = await stack.submit({
      type: 'sleep',
      payload: { ms: 30_000 },
      timeout_sec: 1,
      max_retries: 0,
    });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 30_000);
    expect(done.status).toBe('failed');
    expect(done.result).toMatchObject({ timed_out: true });
    expect(done.result!.duration_ms).toBeLessThan(10_000);
    const failed = await node.waitForLog('job_failed', (l) => l.job_id === job.id);
    expect(failed).toMatchObject({ timed_out: true });
    await node.waitForLog('result_reported', (l) => l.job_id === job.id);
  });

  it('cancelling a running job kills it on the node', async () => {
    node = await stack.startNode();
    const job = await stack.submit({ type: 'sleep', payload: { ms: 30_000 } });
    await stack.waitForJob(job.id, 'running');
    await node.waitForLog('job_started', (l) => l.job_id === job.id);
    const r = await stack.call('POST', `/jobs/${job.id}/cancel`);
    expect(r.status).toBe(200);
    const done = await stack.waitForJob(job.id, ['cancelled', 'succeeded', 'failed']);
    expect(done.status).toBe('cancelled');
    await node.waitForLog('job_cancelled', (l) => l.job_id === job.id, 15_000);
    await waitFor(
      'the node to be idle',
      async () =>
        ((await (await fetch(`${node!.url}/health`)).json()) as { running: number }).running === 0,
    );
    expect(node.events('result_reported').filter((l) => l.job_id === job.id)).toEqual([]);
  });

  it('SIGTERM mid-job: the job finishes and is reported, the node deregisters and exits 0', async () => {
    node = await stack.startNode();
    const job = await stack.submit({ type: 'sleep', payload: { ms: 2_500 } });
    await stack.waitForJob(job.id, 'running');
    await node.waitForLog('job_started', (l) => l.job_id === job.id);
    node.signal('SIGTERM');
    await node.waitForLog('worker_draining');
    expect(await node.exited).toBe(0);
    const done = await stack.job(job.id);
    expect(done).toMatchObject({ status: 'succeeded', worker_id: node.id });
    const order = node.logs
      .map((l) => l.event)
      .filter((e) => ['worker_draining', 'result_reported', 'worker_deregistered'].includes(e));
    expect(order).toEqual(['worker_draining', 'result_reported', 'worker_deregistered']);
    expect((await stack.workers()).map((w) => w.id)).not.toContain(node.id);
  });

  it('a node without the native runner falls back to wasm, and the result says so', async () => {
    node = await stack.startNode({ env: { EXECUTION_BINARY: '/nonexistent/runner' } });
    expect((await stack.workers()).find((w) => w.id === node!.id)?.executors).toEqual(['wasm']);
    const job = await stack.submit({ type: 'echo', payload: { via: 'wasm' } });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { executor: 'wasm', exit_code: 0 } });
  });
});
