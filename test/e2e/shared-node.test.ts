/**
 * Issue 14, "the node grants credits per queue": one push node of capacity 2 serves four queues
 * under a flood of jobs. Each queue's scheduler may only offer the node what the node granted that
 * queue, and the grants never sum past the node's slots, so no dispatch finds the node full: it
 * logs no `job_rejected` with reason `busy`. And the results answer carries the node's next leases,
 * so the schedulers push far fewer dispatch requests than there are jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSamples } from '../../src/core/prometheus';
import type { Job } from '../../src/protocol/job';
import { startStack, type Stack } from './harness';

const QUEUES = ['q1', 'q2', 'q3', 'q4'];
const PER_QUEUE = 30;
const N = QUEUES.length * PER_QUEUE;

/** Requests the four schedulers sent to nodes (push dispatches and kills), from /metrics. */
async function outboundRequests(stack: Stack): Promise<number> {
  const r = await stack.call<string>('GET', '/metrics');
  expect(r.status).toBe(200);
  let sum = 0;
  for (const [k, v] of parseSamples(r.body)) {
    const m = /^scheduler_outbound_requests_total\{queue="([^"]*)"\}$/.exec(k);
    if (m && QUEUES.includes(m[1])) sum += v;
  }
  return sum;
}

describe('one push node shared by four queues', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('runs a flood of jobs from four queues without a busy rejection, leases riding results answers', async () => {
    const node = await stack.startNode({
      id: 'shared',
      capacity: 2,
      env: { WORKER_QUEUES: QUEUES.join(',') },
    });
    const before = await outboundRequests(stack);
    const submitted = await Promise.all(
      QUEUES.map(async (queue) => {
        const res = await stack.call<{ jobs: Job[] }>('POST', '/jobs/batch', {
          jobs: Array.from({ length: PER_QUEUE }, (_, i) => ({
            type: 'echo',
            queue,
            payload: { queue, i },
          })),
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.jobs;
      }),
    );
    // One poll at a time: 120 concurrent polls would load the API more than the flood does.
    const done: Job[] = [];
    for (const j of submitted.flat())
      done.push(await stack.waitForJob(j.id, ['succeeded', 'failed'], 120_000));
    expect(done.map((j) => j.status)).toEqual(Array(N).fill('succeeded'));
    const busy = node.events('job_rejected').filter((l) => l.reason === 'busy');
    const pushes = (await outboundRequests(stack)) - before;
    const viaResults = node.events('job_received').filter((l) => l.via === 'results').length;
    console.log(`${N} jobs: ${busy.length} busy, ${pushes} pushes, ${viaResults} via results`);
    expect(busy.length, `busy rejections: ${busy.length}`).toBe(0);
    // Its grants keep the node within its slots plus its prefetch (1): never two jobs waiting.
    const over = node.events('job_queued').filter((l) => Number(l.ahead) >= 1);
    expect(over.length, `jobs queued behind another: ${over.length}`).toBe(0);
    // Every job ran once, on its first attempt: nothing bounced.
    expect(done.map((j) => j.attempts)).toEqual(Array(N).fill(1));
    expect(viaResults).toBeGreaterThan(0);
    expect(pushes).toBeLessThan(N / 2);
  });
});
