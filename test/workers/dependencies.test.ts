/**
 * Issue 9, job dependencies, against the real API, D1 and Scheduler Durable Object: validation of
 * `depends_on`, batch index references, cycles, waiting, and the cancellation that follows a
 * dependency that did not succeed. Dependencies that succeed are run by real nodes in
 * test/e2e/dependencies.test.ts.
 */
import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, submit } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
let n = 0;
const queueName = (what: string) => `deps-${what}-${Date.now()}-${n++}`;
const batch = (jobs: unknown[], headers?: Record<string, string>) =>
  api('POST', '/jobs/batch', { jobs }, headers);
const getJob = async (id: string) => (await api('GET', `/jobs/${id}`)).body.job;

function expectProblem(
  res: { status: number; body: any },
  status: number,
  code: string,
  field: string,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
}

describe('job dependencies', () => {
  it('holds a small DAG submitted in one batch as `waiting`, with the indexes resolved to ids', async () => {
    const queue = queueName('dag');
    const res = await batch([
      { payload: 'a', queue },
      { payload: 'b', queue, depends_on: [0] },
      { payload: 'c', queue, depends_on: [0] },
      { payload: 'd', queue, depends_on: [1, 2, 1] },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [a, b, c, d] = res.body.jobs;
    expect(a.status).toBe('queued');
    expect(a.depends_on).toEqual([]);
    expect([b.status, c.status, d.status]).toEqual(['waiting', 'waiting', 'waiting']);
    expect(b.depends_on).toEqual([a.id]);
    expect(d.depends_on).toEqual([b.id, c.id]);
    expect((await getJob(d.id)).status).toBe('waiting');
    // Waiting jobs are not in the dispatch order, and are counted apart.
    expect(
      (await api('GET', `/queues/${queue}`)).body.head.map((h: { id: string }) => h.id),
    ).toEqual([a.id]);
    expect((await api('GET', `/jobs?queue=${queue}&status=waiting`)).body.total).toBe(3);
  });

  it('cancels the dependents, transitively and with the reason, when a dependency is cancelled', async () => {
    const queue = queueName('cascade');
    const [a, b, c] = (
      await batch([
        { payload: 'a', queue },
        { payload: 'b', queue, depends_on: [0] },
        { payload: 'c', queue, depends_on: [1] },
      ])
    ).body.jobs;
    const late = (await submit({ payload: 'late', queue, depends_on: [c.id] })).body.job;
    expect(late.status).toBe('waiting');
    expect((await api('POST', `/jobs/${a.id}/cancel`)).status).toBe(200);
    for (const [job, dep] of [
      [b, a],
      [c, b],
      [late, c],
    ]) {
      const now = await getJob(job.id);
      expect(now.status).toBe('cancelled');
      expect(now.error).toBe(`dependency ${dep.id} was cancelled`);
    }
    // A dependency that can no longer succeed is refused up front.
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: [a.id] }),
      409,
      'dependency_failed',
      'depends_on.0',
    );
  });

  it('lets a waiting job be cancelled on its own, which cancels only what waits for it', async () => {
    const queue = queueName('own');
    const [a, b, c] = (
      await batch([
        { payload: 'a', queue },
        { payload: 'b', queue, depends_on: [0] },
        { payload: 'c', queue, depends_on: [1] },
      ])
    ).body.jobs;
    expect((await api('POST', `/jobs/${b.id}/cancel`)).body.job.status).toBe('cancelled');
    expect((await getJob(c.id)).status).toBe('cancelled');
    expect((await getJob(a.id)).status).toBe('queued');
  });

  it('keeps waiting jobs and their dependencies across a restart of the scheduler', async () => {
    const queue = queueName('restart');
    const [a, b] = (
      await batch([
        { payload: 'a', queue },
        { payload: 'b', queue, depends_on: [0] },
      ])
    ).body.jobs;
    await evictDurableObject(env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)));
    expect((await getJob(b.id)).status).toBe('waiting');
    await api('POST', `/jobs/${a.id}/cancel`);
    expect((await getJob(b.id)).status).toBe('cancelled');
  });

  it('refuses an index outside a batch, an index past its end, and a job of another queue', async () => {
    const queue = queueName('bad');
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: [0] }),
      400,
      'validation_failed',
      'depends_on.0',
    );
    expectProblem(
      await batch([
        { payload: 'x', queue },
        { payload: 'y', queue, depends_on: [5] },
      ]),
      400,
      'validation_failed',
      'jobs.1.depends_on.0',
    );
    const other = (await submit({ payload: 'o', queue: `${queue}-other` })).body.job;
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: [other.id] }),
      400,
      'validation_failed',
      'depends_on.0',
    );
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: ['not an id'] }),
      400,
      'validation_failed',
      'depends_on.0',
    );
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: Array.from({ length: 33 }, () => other.id) }),
      400,
      'validation_failed',
      'depends_on',
    );
  });

  it('refuses a job that depends on itself and a cycle in a batch, and stores none of the batch', async () => {
    const queue = queueName('cycle');
    expectProblem(
      await batch([{ payload: 'x', queue, depends_on: [0] }]),
      400,
      'dependency_cycle',
      'jobs.0.depends_on.0',
    );
    const res = await batch([
      { payload: 'x', queue },
      { payload: 'y', queue, depends_on: [2] },
      { payload: 'z', queue, depends_on: [3] },
      { payload: 'w', queue, depends_on: [0, 1] },
    ]);
    expectProblem(res, 400, 'dependency_cycle', 'jobs.1.depends_on');
    expect(res.body.error.message).toContain('1 -> 2 -> 3 -> 1');
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(0);
  });

  it('does not find a job nobody submitted, nor another tenant’s job', async () => {
    const queue = queueName('unknown');
    const ghost = `${queue}.01ARZ3NDEKTSV4RRFFQ69G5FAV`;
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: [ghost] }),
      404,
      'dependency_not_found',
      'depends_on.0',
    );
    const key = (
      await api('POST', '/admin/keys', { tenant: 'deps-other', name: 'deps test' }, ADMIN)
    ).body.key;
    const theirs = (await submit({ payload: 'theirs', queue }, { authorization: `Bearer ${key}` }))
      .body.job;
    expect(theirs.tenant).toBe('deps-other');
    expectProblem(
      await submit({ payload: 'x', queue, depends_on: [theirs.id] }),
      404,
      'dependency_not_found',
      'depends_on.0',
    );
    expectProblem(
      await batch([
        { payload: 'x', queue },
        { payload: 'y', queue, depends_on: [0, ghost] },
      ]),
      404,
      'dependency_not_found',
      'jobs.1.depends_on.1',
    );
  });

  it('refuses depends_on in a schedule’s job', async () => {
    const queue = queueName('schedule');
    const a = (await submit({ payload: 'a', queue })).body.job;
    const res = await api('POST', '/schedules', {
      cron: '* * * * *',
      job: { payload: 'x', queue, depends_on: [a.id] },
    });
    expectProblem(res, 400, 'validation_failed', 'job.depends_on');
  });
});
