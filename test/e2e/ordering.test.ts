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
    const byStart = [...done].sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
    expect(byStart.map((j) => j.id)).toEqual(expected);
  });
});
