/**
 * Issue 12, item 4: with WORKER_HEARTBEAT_TIMEOUT_SEC=4 and the interval left at its old fixed 5 s, a
 * healthy node was reaped every cycle and a 6 s job lost its lease ten times. The API now derives the
 * interval from the timeout (a third of it) and tells nodes at registration; a node configured with a
 * longer interval of its own follows the API's. The job runs once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness';

describe('heartbeat interval follows the timeout', () => {
  let stack: Stack;
  beforeAll(async () => {
    // HEARTBEAT_INTERVAL_SEC empty counts as unset: what an operator gets who only sets the timeout.
    stack = await startStack({
      vars: { WORKER_HEARTBEAT_TIMEOUT_SEC: '4', HEARTBEAT_INTERVAL_SEC: '' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a node whose own interval is 5 s keeps a 6 s job under a 4 s timeout: attempts 1', async () => {
    const node = await stack.startNode({ id: 'slow-beater', env: { HEARTBEAT_INTERVAL_SEC: '5' } });
    const job = await stack.submit({ type: 'sleep', payload: { ms: 6_000 }, max_retries: 3 });
    // Once the job ends; or after 40 s, as it was (attempt after attempt lost to reaping).
    const done = await stack
      .waitForJob(job.id, ['succeeded', 'failed'], 40_000)
      .catch(() => stack.job(job.id));
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, worker_id: node.id });
    expect(node.events('worker_unknown')).toEqual([]);
    expect(node.events('worker_reregistering')).toEqual([]);
    expect(node.events('worker_registered')[0].heartbeat_interval_sec).toBeLessThanOrEqual(4 / 3);
  });
});
