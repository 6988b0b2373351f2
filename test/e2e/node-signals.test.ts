/**
 * Issue 12, item 5: a signal to the whole process group of `npm run worker` (Ctrl-C in a terminal,
 * systemd's default KillMode, most supervisors) reaches npm, tsx and the node at once, and npm and
 * tsx relay it: the node saw two signals 40 ms apart and took the second for "force exit now". The
 * job it ran stayed `running` until the heartbeat timeout.
 *
 * Must hold: a group SIGTERM or SIGINT drains like a single SIGTERM (the job finishes and is
 * reported, attempts 1, the node deregisters and exits 0); only a deliberate later signal forces
 * exit, and a forced exit still hands its lease back (re-queued at once, no retry spent: the job has
 * max_retries 0 and still succeeds) and leaves no runner behind.
 *
 * The heartbeat timeout is 30 s here, so "at once" cannot be mistaken for reaping.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNodeProcess, type NodeProcess } from './node-process';
import { startStack, waitFor, type Stack } from './harness';

const HEARTBEAT_TIMEOUT_SEC = 30;

/** Pids of runner processes running this job (the runner gets `--job-id <id>`). */
function runnersOf(jobId: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((l) => l.includes('--job-id') && l.includes(jobId))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('signals to the node process group', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      vars: { WORKER_HEARTBEAT_TIMEOUT_SEC: String(HEARTBEAT_TIMEOUT_SEC) },
    });
  });
  afterEach(async () => {
    await Promise.all(stack.nodes.map((n) => n.kill()));
    await waitFor('an empty registry', async () => (await stack.workers()).length === 0, 40_000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** `npm run worker` in its own process group, registered and listed. */
  async function npmNode(id: string): Promise<NodeProcess> {
    const port = await freePort();
    const node = startNodeProcess({
      port,
      id,
      npm: true,
      echo: process.env.E2E_DEBUG === '1',
      env: {
        API_URL: stack.api,
        WORKER_TOKEN: stack.token,
        HEARTBEAT_INTERVAL_SEC: '1',
        DRAIN_TIMEOUT_SEC: '30',
      },
    });
    stack.nodes.push(node);
    await node.waitForLog('worker_registered', undefined, 60_000);
    await waitFor(`${id} listed`, async () => (await stack.workers()).some((w) => w.id === id));
    return node;
  }

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} to the whole group drains: the job finishes with attempts 1, the node deregisters and exits 0`, async () => {
      const node = await npmNode(`group-${sig.toLowerCase()}`);
      const job = await stack.submit({ type: 'sleep', payload: { ms: 3_000 }, max_retries: 0 });
      await node.waitForLog('job_started', (l) => l.job_id === job.id);
      // Running, not just forked: a signal between a runner's fork and its setsid() reaches it
      // through the node's group (docs/protocol.md, section 2.1, signals).
      await waitFor('the runner to run', () => runnersOf(job.id).length > 0);

      node.signalGroup(sig);
      expect(await node.exited).toBe(0);

      expect(node.events('worker_forced_exit')).toEqual([]);
      expect(node.events('job_completed').map((l) => l.job_id)).toEqual([job.id]);
      expect(node.events('worker_deregistered')).toHaveLength(1);
      expect(await stack.job(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect((await stack.workers()).map((w) => w.id)).not.toContain(node.id);
    });
  }

  it('a deliberate second signal forces exit: the lease goes back at once at no cost, and no runner is left', async () => {
    const node = await npmNode('forced');
    const job = await stack.submit({ type: 'sleep', payload: { ms: 60_000 }, max_retries: 0 });
    await node.waitForLog('job_started', (l) => l.job_id === job.id);
    await waitFor('the runner to run', () => runnersOf(job.id).length > 0);

    node.signalGroup('SIGTERM');
    await node.waitForLog('worker_draining');
    // The pause is the scenario, not a wait for a condition: an operator who presses Ctrl-C again
    // two seconds later means it.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(node.exitCode).toBeNull();
    const forcedAt = Date.now();
    node.signalGroup('SIGTERM');
    expect(await node.exited).toBe(1);
    expect(node.events('worker_forced_exit')).toHaveLength(1);
    expect(node.events('worker_deregistered')).toHaveLength(1);

    // Re-queued by the deregistration, not by reaping 30 s later.
    const queued = await stack.waitForJob(job.id, 'queued', 10_000);
    expect(Date.now() - forcedAt).toBeLessThan((HEARTBEAT_TIMEOUT_SEC * 1000) / 3);
    expect(queued.attempts).toBe(1);
    expect(runnersOf(job.id)).toEqual([]);

    // max_retries 0: had the forced exit cost a retry, the job would have failed for good.
    const b = await npmNode('after-forced');
    const running = await stack.waitForJob(job.id, (j) => j.status !== 'queued', 15_000);
    expect(running).toMatchObject({ status: 'running', worker_id: b.id, attempts: 2 });
    // Cancelled, so that B drains at once and leaves the registry empty for the next case.
    expect((await stack.call('POST', `/jobs/${job.id}/cancel`)).status).toBe(200);
    b.signalGroup('SIGINT');
    expect(await b.exited).toBe(0);
  });
});
