/**
 * POST /jobs/bulk and GET /jobs/bulk/:id in workerd, against the real API, the queues' Scheduler
 * objects and D1: each action, the filters, tenant scoping and the refusals. The background runner,
 * pages run twice and the rate limit are in bulk-background.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { api } from './helpers';
import { ADMIN, bulk, failedJobs, fresh, jobOf, NODE, submitMany } from './bulk-fixtures';

describe('POST /jobs/bulk: each action', () => {
  it('cancels every matching job and leaves the rest, answering how many within the request', async () => {
    const queue = fresh('bulk-cancel');
    const echo = await submitMany(queue, 5);
    const fib = await submitMany(queue, 2, { type: 'fib' });
    const res = await bulk({ action: 'cancel', filter: { queue, type: 'echo' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.bulk).toMatchObject({
      action: 'cancel',
      status: 'completed',
      matched: 5,
      done: 5,
      skipped: 0,
      failed: 0,
    });
    for (const id of echo) expect((await jobOf(id)).status).toBe('cancelled');
    for (const id of fib) expect((await jobOf(id)).status).toBe('queued');
    const again = await api('GET', `/jobs/bulk/${res.body.bulk.id}`);
    expect(again.body.bulk).toMatchObject({ status: 'completed', done: 5 });
    // Nothing left to match: a second cancel matches none.
    const none = await bulk({
      action: 'cancel',
      filter: { queue, type: 'echo', status: 'queued' },
    });
    expect(none.body.bulk).toMatchObject({ matched: 0, done: 0, status: 'completed' });
  });

  it('moves re-prioritised queued jobs to their new place in the queue at once', async () => {
    const queue = fresh('bulk-prio');
    const normal = await submitMany(queue, 2, { priority: 1 });
    const low = await submitMany(queue, 3, { priority: 2 });
    const res = await bulk({ action: 'priority', priority: 0, filter: { queue, priority: 2 } });
    expect(res.body.bulk).toMatchObject({ matched: 3, done: 3, priority: 0 });
    const head = (await api('GET', `/queues/${queue}`)).body.head.map((h: { id: string }) => h.id);
    expect(head).toEqual([...low, ...normal]);
    for (const id of low) expect((await jobOf(id)).priority).toBe(0);
  });

  it('skips a running job when re-prioritising, naming why, and leaves it as it was', async () => {
    const queue = fresh('bulk-prio-run');
    const [first, second] = await submitMany(queue, 2, { priority: 2 });
    const node = fresh('node');
    const reg = { id: node, mode: 'pull', capacity: 1, executors: ['native'], queues: [queue] };
    expect((await api('POST', '/workers/register', reg, NODE)).status).toBe(201);
    const leased = await api('POST', `/workers/${node}/lease`, { max_jobs: 1, wait_sec: 0 }, NODE);
    expect(leased.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([first]);
    const res = await bulk({ action: 'priority', priority: 0, filter: { queue } });
    expect(res.body.bulk).toMatchObject({ matched: 2, done: 1, skipped: 1, failed: 0 });
    expect(res.body.bulk.problems).toEqual([{ job_id: first, reason: 'job is running' }]);
    expect(await jobOf(first)).toMatchObject({ status: 'running', priority: 2 });
    expect(await jobOf(second)).toMatchObject({ status: 'queued', priority: 0 });
  });

  it('retries failed jobs under their own ids, with their attempts going on', async () => {
    const queue = fresh('bulk-retry');
    const failed = await failedJobs(queue, 3);
    const res = await bulk({ action: 'retry', filter: { queue, status: 'failed' } });
    expect(res.body.bulk).toMatchObject({ matched: 3, done: 3, skipped: 0 });
    for (const id of failed)
      expect(await jobOf(id)).toMatchObject({ status: 'queued', attempts: 1, finished_at: null });
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(3);
    // Retried jobs are queued, not failed: a second retry of the same filter matches none.
    const again = await bulk({ action: 'retry', filter: { queue } });
    expect(again.body.bulk).toMatchObject({ matched: 3, done: 0, skipped: 3 });
  });

  it('replays finished jobs as new jobs linked to them, and skips unfinished ones', async () => {
    const queue = fresh('bulk-replay');
    const ids = await submitMany(queue, 4);
    await api('POST', `/jobs/${ids[0]}/cancel`);
    await api('POST', `/jobs/${ids[1]}/cancel`);
    const res = await bulk({ action: 'replay', filter: { queue } });
    expect(res.body.bulk).toMatchObject({ matched: 4, done: 2, skipped: 2 });
    expect(res.body.bulk.problems.map((p: { job_id: string }) => p.job_id).sort()).toEqual(
      [ids[2], ids[3]].sort(),
    );
    const all = (await api('GET', `/jobs?queue=${queue}`)).body.jobs;
    expect(all).toHaveLength(6);
    const copies = all.filter((j: { replay_of: string | null }) => j.replay_of !== null);
    expect(copies.map((j: { replay_of: string }) => j.replay_of).sort()).toEqual(
      [ids[0], ids[1]].sort(),
    );
    for (const c of copies) expect(c.status).toBe('queued');
  });
});

describe('POST /jobs/bulk: filters and scoping', () => {
  it('filters by status and by a creation window', async () => {
    const queue = fresh('bulk-window');
    const early = await submitMany(queue, 3);
    await new Promise((r) => setTimeout(r, 20));
    const cut = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const late = await submitMany(queue, 2);
    await api('POST', `/jobs/${late[0]}/cancel`);
    const res = await bulk({ action: 'cancel', filter: { queue, created_before: cut } });
    expect(res.body.bulk).toMatchObject({ matched: 3, done: 3 });
    const after = await bulk({
      action: 'replay',
      filter: { queue, created_after: cut, status: 'cancelled' },
    });
    expect(after.body.bulk).toMatchObject({ matched: 1, done: 1 });
    expect((await jobOf(late[1])).status).toBe('queued');
    for (const id of early) expect((await jobOf(id)).status).toBe('cancelled');
  });

  it("acts on the caller's tenant only: another tenant's jobs in the same queue are untouched", async () => {
    const key = async (tenant: string) =>
      (await api('POST', '/admin/keys', { tenant, name: 'bulk' }, ADMIN)).body.key as string;
    const acme = { authorization: `Bearer ${await key('bulk-acme')}` };
    const beta = { authorization: `Bearer ${await key('bulk-beta')}` };
    const queue = fresh('bulk-shared');
    const mine = (await api('POST', '/jobs', { payload: 1, queue }, acme)).body.job;
    // The queue is acme's: beta's jobs share the `default` queue with acme's instead.
    expect((await api('POST', '/jobs', { payload: 2, queue }, beta)).status).toBe(403);
    const a = (await api('POST', '/jobs', { payload: 3, queue: 'default' }, acme)).body.job;
    const b = (await api('POST', '/jobs', { payload: 4, queue: 'default' }, beta)).body.job;
    expect(a.tenant).toBe('bulk-acme');
    expect(b.tenant).toBe('bulk-beta');
    const res = await bulk({ action: 'cancel', filter: {} }, beta);
    expect(res.status).toBe(200);
    expect((await jobOf(a.id, acme)).status).toBe('queued');
    expect((await jobOf(mine.id, acme)).status).toBe('queued');
    expect((await jobOf(b.id, beta)).status).toBe('cancelled');
    // Its progress is the tenant's too.
    expect((await api('GET', `/jobs/bulk/${res.body.bulk.id}`, undefined, acme)).status).toBe(404);
    expect((await api('GET', `/jobs/bulk/${res.body.bulk.id}`, undefined, beta)).status).toBe(200);
  });
});

describe('POST /jobs/bulk: refusals name the field', () => {
  const cases: [string, unknown, string][] = [
    ['an unknown action', { action: 'delete', filter: {} }, 'action'],
    ['a bad status', { action: 'cancel', filter: { status: 'done' } }, 'filter.status'],
    [
      'a status the action does not apply to',
      { action: 'cancel', filter: { status: 'succeeded' } },
      'filter.status',
    ],
    ['priority missing for action priority', { action: 'priority', filter: {} }, 'priority'],
    ['priority with another action', { action: 'cancel', priority: 0, filter: {} }, 'priority'],
    ['a bad priority', { action: 'priority', priority: 5, filter: {} }, 'priority'],
    [
      'created_before before created_after',
      {
        action: 'cancel',
        filter: { created_after: '2026-01-02T00:00:00Z', created_before: '2026-01-01T00:00:00Z' },
      },
      'filter.created_before',
    ],
    [
      'a date that is not RFC 3339',
      { action: 'cancel', filter: { created_after: 'yesterday' } },
      'filter.created_after',
    ],
    ['an unknown filter field', { action: 'cancel', filter: { tenant: 'other' } }, 'filter.tenant'],
    ['no filter', { action: 'cancel' }, 'filter'],
  ];
  for (const [what, body, field] of cases)
    it(`refuses ${what} with 400 naming ${field}`, async () => {
      const res = await bulk(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(
        field,
      );
    });

  it('answers 404 for an unknown action id and 400 for a malformed one', async () => {
    expect((await api('GET', '/jobs/bulk/bk_01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await api('GET', '/jobs/bulk/nope')).status).toBe(400);
  });
});
