/**
 * Issue 17 with real processes: wrangler dev and a real worker node running the real runner. A
 * PATCHed priority changes the order waiting jobs start in; a debounced burst runs once, with its
 * last payload; a dedup'd submission does not run twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/protocol/job';
import { startedOrder, startStack, type NodeProcess, type Stack } from './harness';

describe('flow control with a real node', () => {
  let stack: Stack;
  let node: NodeProcess;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const runsOf = (id: string) => node.events('job_started').filter((l) => l.job_id === id).length;

  it('PATCH /jobs/:id: a new priority changes the order in which waiting jobs start', async () => {
    // Submitted before any node exists, so all four wait; then the last is moved ahead.
    const jobs: Job[] = [];
    for (let i = 0; i < 4; i++)
      jobs.push(await stack.submit({ type: 'echo', payload: { i }, max_retries: 0 }));
    const edited = await stack.call('PATCH', `/jobs/${jobs[3].id}`, { priority: 0 });
    expect(edited.status).toBe(200);
    expect(edited.body.job).toMatchObject({ priority: 0, status: 'queued' });
    const later = await stack.call('PATCH', `/jobs/${jobs[0].id}`, { priority: 2 });
    expect(later.status).toBe(200);

    node = await stack.startNode({ capacity: 1 });
    const done = await Promise.all(jobs.map((j) => stack.waitForJob(j.id, 'succeeded', 60_000)));
    const expected = [jobs[3], jobs[1], jobs[2], jobs[0]].map((j) => j.id);
    expect(startedOrder(node, new Set(expected))).toEqual(expected);
    // Once it ran, it cannot be edited: 409 with its status.
    const refused = await stack.call('PATCH', `/jobs/${done[3].id}`, { priority: 1 });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details.status).toBe('succeeded');
  });

  it('a debounced burst runs once, with the last payload', async () => {
    const debounce = { key: `burst-${Date.now()}`, delay_sec: 2 };
    const answers = [];
    for (let v = 1; v <= 5; v++)
      answers.push(await stack.call('POST', '/jobs', { type: 'echo', payload: { v }, debounce }));
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 200]);
    const id = answers[0].body.job.id as string;
    expect(answers.every((a) => a.body.job.id === id)).toBe(true);
    expect(answers.slice(1).every((a) => a.body.debounced === true)).toBe(true);
    const done = await stack.waitForJob(id, 'succeeded', 30_000);
    expect(done.result!.output).toEqual({ type: 'echo', result: { v: 5 } });
    expect(done.attempts).toBe(1);
    expect(runsOf(id)).toBe(1);
    // The burst is over: the key starts a new one, a new job.
    const next = await stack.call('POST', '/jobs', { type: 'echo', payload: { v: 6 }, debounce });
    expect(next.status).toBe(201);
    expect(next.body.job.id).not.toBe(id);
    const second = await stack.waitForJob(next.body.job.id, 'succeeded', 30_000);
    expect(second.result!.output).toEqual({ type: 'echo', result: { v: 6 } });
    expect(runsOf(id)).toBe(1);
  });

  it("a dedup'd submission does not run twice", async () => {
    const body = { type: 'echo', payload: { once: true }, dedup_key: `order-${Date.now()}` };
    const first = await stack.call('POST', '/jobs', body);
    expect(first.status).toBe(201);
    const id = first.body.job.id as string;
    await stack.waitForJob(id, 'succeeded', 30_000);
    const again = await stack.call('POST', '/jobs', { ...body, payload: { once: false } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      deduplicated: true,
      job: { id, status: 'succeeded', payload: { once: true } },
    });
    // Another job after it runs, so a second run of the first would have been seen by now.
    const marker = await stack.submit({ type: 'echo', payload: 'marker' });
    await stack.waitForJob(marker.id, 'succeeded', 30_000);
    expect(runsOf(id)).toBe(1);
    const list = await stack.call('GET', '/jobs?limit=500');
    const withPayload = (list.body.jobs as Job[]).filter(
      (j) => JSON.stringify(j.payload) === JSON.stringify({ once: false }),
    );
    expect(withPayload).toEqual([]);
  });
});
