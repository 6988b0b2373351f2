/**
 * Issue 9, job dependencies, on the real stack (wrangler dev, D1, the Scheduler Durable Object) with a
 * real worker node running the runner: a DAG submitted in one batch runs in dependency order, a job
 * that fails for good cancels what waits for it, and a dependency on a finished job is judged from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/protocol/job';
import { startStack, type Stack } from './harness';

let stack: Stack;
const run = Date.now();
const QUEUES = {
  diamond: `deps-diamond-${run}`,
  fail: `deps-fail-${run}`,
  later: `deps-later-${run}`,
};

beforeAll(async () => {
  stack = await startStack();
  await stack.startNode({ capacity: 4, env: { WORKER_QUEUES: Object.values(QUEUES).join(',') } });
});
afterAll(async () => stack?.stop());

const ms = (iso: string | null) => Date.parse(iso ?? '');

describe('job dependencies', () => {
  it('runs a diamond in dependency order: each job starts after every job it waits for has finished', async () => {
    const queue = QUEUES.diamond;
    const res = await stack.call<{ jobs: Job[] }>('POST', '/jobs/batch', {
      jobs: [
        { type: 'sleep', payload: { ms: 400 }, queue },
        { type: 'sleep', payload: { ms: 300 }, queue, depends_on: [0] },
        { type: 'sleep', payload: { ms: 100 }, queue, depends_on: [0] },
        { type: 'echo', payload: { last: true }, queue, depends_on: [1, 2] },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ids = res.body.jobs.map((j) => j.id);
    expect(res.body.jobs.map((j) => j.status)).toEqual(['queued', 'waiting', 'waiting', 'waiting']);
    const [a, b, c, d] = await Promise.all(
      ids.map((id) => stack.waitForJob(id, 'succeeded', 30_000)),
    );
    // The node has four slots: only the dependencies kept these apart.
    expect(ms(b.started_at)).toBeGreaterThanOrEqual(ms(a.finished_at));
    expect(ms(c.started_at)).toBeGreaterThanOrEqual(ms(a.finished_at));
    expect(ms(d.started_at)).toBeGreaterThanOrEqual(Math.max(ms(b.finished_at), ms(c.finished_at)));
    expect(d.result?.output).toMatchObject({ result: { last: true } });
    expect(d.depends_on).toEqual([ids[1], ids[2]]);

    // A dependency that already succeeded is satisfied at once.
    const after = await stack.submit({
      type: 'echo',
      payload: 'after',
      queue,
      depends_on: [ids[3]],
    });
    expect(after.status).not.toBe('waiting');
    await stack.waitForJob(after.id, 'succeeded', 15_000);
  });

  it('cancels the jobs that wait for one that failed for good, and names it', async () => {
    const queue = QUEUES.fail;
    const res = await stack.call<{ jobs: Job[] }>('POST', '/jobs/batch', {
      jobs: [
        { type: 'fail', payload: { code: 3, message: 'bad input' }, queue, max_retries: 0 },
        { type: 'echo', payload: 'never', queue, depends_on: [0] },
        { type: 'echo', payload: 'never either', queue, depends_on: [1] },
        { type: 'echo', payload: 'independent', queue },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [failing, child, grandchild, independent] = res.body.jobs;
    expect((await stack.waitForJob(failing.id, 'failed', 15_000)).attempts).toBe(1);
    const c = await stack.waitForJob(child.id, 'cancelled', 15_000);
    expect(c.error).toBe(`dependency ${failing.id} failed`);
    expect(c.attempts).toBe(0);
    expect((await stack.waitForJob(grandchild.id, 'cancelled', 15_000)).error).toBe(
      `dependency ${child.id} was cancelled`,
    );
    await stack.waitForJob(independent.id, 'succeeded', 15_000);

    const refused = await stack.call('POST', '/jobs', {
      payload: 'x',
      queue,
      depends_on: [failing.id],
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('dependency_failed');
  });

  it('waits for a job submitted earlier, and for a run_at after its dependencies are done', async () => {
    const queue = QUEUES.later;
    const first = await stack.submit({ type: 'sleep', payload: { ms: 500 }, queue });
    const runAt = new Date(Date.now() + 2500).toISOString();
    const second = await stack.submit({
      type: 'echo',
      payload: 'second',
      queue,
      depends_on: [first.id],
      run_at: runAt,
    });
    expect(second.status).toBe('waiting');
    const done = await stack.waitForJob(second.id, 'succeeded', 20_000);
    expect(ms(done.started_at)).toBeGreaterThanOrEqual(ms(runAt));
    expect(ms(done.started_at)).toBeGreaterThanOrEqual(ms((await stack.job(first.id)).finished_at));
  });
});
