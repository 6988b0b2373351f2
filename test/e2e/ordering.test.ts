/**
 * Issue 3, "Done when": readiness follows the first node, registration needs the token, and 30 jobs
 * of mixed priority submitted before any node exists run 0s, then 1s, then 2s, FIFO within each, on a
 * single node of capacity 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/protocol/job';
import { startedOrder, startStack, type Stack } from './harness';

describe('readiness and dispatch order', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('registering without the worker token is refused with 401', async () => {
    const body = { id: 'intruder', url: 'http://127.0.0.1:9', executors: ['native'] };
    expect((await stack.call('POST', '/workers/register', body)).status).toBe(401);
    expect(
      (
        await stack.call('POST', '/workers/register', body, {
          authorization: 'Bearer wrong-token-123',
        })
      ).status,
    ).toBe(401);
    expect((await stack.workers()).map((w) => w.id)).not.toContain('intruder');
  });

  it('GET /ready is 503 before the first node registers', async () => {
    const r = await stack.call('GET', '/ready');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBeTruthy();
  });

  it('runs 30 mixed-priority jobs submitted before any node in priority order, FIFO within each', async () => {
    const jobs: Job[] = [];
    for (let i = 0; i < 30; i++) {
      const priority = [1, 2, 0, 1, 0, 2][i % 6] as 0 | 1 | 2;
      jobs.push(await stack.submit({ type: 'echo', payload: { i }, priority, max_retries: 0 }));
    }
    const expected = [...jobs]
      .sort((a, b) => a.priority - b.priority || jobs.indexOf(a) - jobs.indexOf(b))
      .map((j) => j.id);

    const node = await stack.startNode({ capacity: 1 });
    expect((await stack.call('GET', '/ready')).status).toBe(200);

    const done = await Promise.all(
      jobs.map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'], 120_000)),
    );
    expect(
      done.filter((j) => j.status !== 'succeeded').map((j) => [j.id, j.status, j.error]),
    ).toEqual([]);
    expect(done.every((j) => j.worker_id === node.id && j.result?.exit_code === 0)).toBe(true);

    // Two witnesses of the order: the node's own job_started log and the API's started_at.
    expect(startedOrder(node, new Set(expected))).toEqual(expected);
    // The API's started_at is the lease's time: with a prefetched lease (wire version 3) one pass
    // may start two jobs in the same millisecond, so along the expected order it never goes back.
    const startedAt = expected.map((id) => Date.parse(done.find((j) => j.id === id)!.started_at!));
    const backwards = startedAt.flatMap((t, i) => (i > 0 && t < startedAt[i - 1] ? [i] : []));
    expect(backwards).toEqual([]);
    // And the grants keep the node within its slot plus its prefetch (1): never two jobs waiting.
    expect(node.events('job_queued').filter((l) => Number(l.ahead) >= 1)).toEqual([]);
  });
});
