/**
 * Nodes behind NAT: a pull node (WORKER_MODE=pull, no URL, no listener) long-polls the real API for
 * its jobs and runs them with the real runner, side by side with a push node on the same queue; it
 * drains on SIGTERM like a push node, and its job survives a SIGKILL by running on the other node.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitFor, type NodeProcess, type Stack } from './harness';

describe('pull mode', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  // Each case starts from an empty registry: a node left from the previous one would take jobs.
  afterEach(async () => {
    await Promise.all(stack.nodes.map((n) => n.kill()));
    await waitFor('an empty registry', async () => (await stack.workers()).length === 0, 20_000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** A pull node: the harness's push settings blanked (empty counts as unset), short polls. */
  const startPullNode = (id: string, capacity = 1): Promise<NodeProcess> =>
    stack.startNode({
      id,
      capacity,
      env: {
        WORKER_MODE: 'pull',
        WORKER_ENDPOINT: '',
        WORKER_PORT: '',
        WORKER_BIND: '',
        LEASE_WAIT_SEC: '5',
      },
    });

  it('a push node and a pull node on the same queue both run jobs, and every job succeeds', async () => {
    const push = await stack.startNode({ id: 'pusher', capacity: 1 });
    const pull = await startPullNode('puller', 1);
    const modes = Object.fromEntries((await stack.workers()).map((w) => [w.id, [w.mode, w.url]]));
    expect(modes).toEqual({ pusher: ['push', push.url], puller: ['pull', ''] });
    expect(pull.events('worker_listening')).toEqual([]);
    expect(pull.events('worker_pulling')).toHaveLength(1);

    const jobs = [];
    for (let i = 0; i < 8; i++)
      jobs.push(await stack.submit({ type: 'sleep', payload: { ms: 400 } }));
    const done = await Promise.all(
      jobs.map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'], 60_000)),
    );
    expect(done.map((j) => j.status)).toEqual(Array(8).fill('succeeded'));
    const ranOn = new Set(done.map((j) => j.worker_id));
    expect(ranOn).toEqual(new Set(['pusher', 'puller']));
    // The pull node got its jobs by lease and reported them like any node.
    const pulled = done.filter((j) => j.worker_id === 'puller').map((j) => j.id);
    expect(
      pull
        .events('job_received')
        .filter((l) => l.via === 'lease')
        .map((l) => l.job_id)
        .sort(),
    ).toEqual([...pulled].sort());
    expect(
      pull
        .events('result_reported')
        .map((l) => l.job_id)
        .sort(),
    ).toEqual([...pulled].sort());
    for (const j of done)
      expect(j.result).toMatchObject({
        exit_code: 0,
        output: { type: 'sleep', result: { slept_ms: 400 } },
      });
  });

  it('SIGTERM mid-job: the pull node stops leasing, finishes and reports the job, deregisters and exits 0', async () => {
    const pull = await startPullNode('drainer');
    const job = await stack.submit({ type: 'sleep', payload: { ms: 2_500 } });
    await stack.waitForJob(job.id, (j) => j.status === 'running' && j.worker_id === 'drainer');
    await pull.waitForLog('job_started', (l) => l.job_id === job.id);
    pull.signal('SIGTERM');
    // Submitted after the drain began: it must wait for another node rather than go to the drainer.
    await pull.waitForLog('worker_draining');
    const late = await stack.submit({ type: 'echo', payload: 'after the drain' });

    expect(await pull.exited).toBe(0);
    expect(await stack.job(job.id)).toMatchObject({
      status: 'succeeded',
      worker_id: 'drainer',
      attempts: 1,
    });
    expect(pull.events('result_reported').map((l) => l.job_id)).toEqual([job.id]);
    expect(pull.events('worker_deregistered')).toHaveLength(1);
    expect(pull.events('job_received').map((l) => l.job_id)).toEqual([job.id]);
    expect((await stack.workers()).map((w) => w.id)).not.toContain('drainer');
    expect((await stack.job(late.id)).status).toBe('queued');

    // The job the drainer did not take runs on the next node.
    await startPullNode('next');
    expect(await stack.waitForJob(late.id, ['succeeded', 'failed'], 30_000)).toMatchObject({
      status: 'succeeded',
      worker_id: 'next',
    });
  });

  it('SIGKILL mid-job: after the heartbeat timeout the job is re-queued and succeeds on the other node', async () => {
    const pull = await startPullNode('victim');
    const job = await stack.submit({ type: 'sleep', payload: { ms: 1_500 }, max_retries: 3 });
    await stack.waitForJob(job.id, (j) => j.status === 'running' && j.worker_id === 'victim');
    await pull.waitForLog('job_started', (l) => l.job_id === job.id);

    const survivor = await stack.startNode({ id: 'survivor' });
    await pull.kill();
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', worker_id: survivor.id });
    expect(done.attempts).toBe(2);
    expect((await stack.workers()).map((w) => w.id)).toEqual(['survivor']);
    expect(survivor.events('job_received').map((l) => l.job_id)).toEqual([job.id]);
  });
});
