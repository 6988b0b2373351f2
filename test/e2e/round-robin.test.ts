/**
 * Issue 3, "Done when": with two idle nodes, dispatches alternate between them. Jobs are submitted
 * one at a time, each after the previous finished, so both nodes are idle at every choice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness';

describe('round-robin between idle nodes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('alternates dispatches between two nodes', async () => {
    const a = await stack.startNode();
    const b = await stack.startNode();
    const ran: string[] = [];
    for (let i = 0; i < 6; i++) {
      const job = await stack.submit({ type: 'echo', payload: { i } });
      const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 30_000);
      expect(done.status).toBe('succeeded');
      ran.push(done.worker_id!);
    }
    expect(new Set(ran)).toEqual(new Set([a.id, b.id]));
    for (let i = 1; i < ran.length; i++)
      expect(ran[i], `dispatch ${i} went to the same node as ${i - 1}: ${ran.join(', ')}`).not.toBe(
        ran[i - 1],
      );
  });
});
