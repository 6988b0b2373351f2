/**
 * POST /jobs/bulk and GET /jobs/bulk/:id in workerd, against the real API, the queues' Scheduler
 * objects, the BulkRunner object and D1: each action, the filters, tenant scoping, refusals, a page
 * run twice, and a large set finishing in the background with every job acted on once.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, callWithVars, waitFor, WORKER_TOKEN } from './helpers';
import { runBulkPage } from '../../src/api/bulk-run';
import { getBulk } from '../../src/db/bulk-actions';
import { dbOf } from '../../src/db/client';
import type { Env } from '../../src/env';

/** The test bindings as the Worker's own Env (the pool's type declares only what tests use). */
const workerEnv = env as unknown as Env;

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
const NODE = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

const bulk = (body: unknown, headers?: Record<string, string>) =>
  api('POST', '/jobs/bulk', body, headers);
const jobOf = async (id: string, headers?: Record<string, string>) =>
  (await api('GET', `/jobs/${id}`, undefined, headers)).body.job;

async function submitMany(queue: string, count: number, extra: Record<string, unknown> = {}) {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 100) {
    const jobs = Array.from({ length: Math.min(100, count - i) }, (_, k) => ({
      payload: i + k,
      queue,
      ...extra,
    }));
    const res = await api('POST', '/jobs/batch', { jobs });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(...res.body.ids);
  }
  return ids;
}

/** Jobs that ran once on a pull node and failed for good (max_retries 0). */
async function failedJobs(queue: string, count: number): Promise<string[]> {
  const ids = await submitMany(queue, count, { max_retries: 0 });
  const node = fresh('node');
  const reg = await api(
    'POST',
    '/workers/register',
    { id: node, mode: 'pull', capacity: count, executors: ['native'], queues: [queue] },
    NODE,
  );
  expect(reg.status).toBe(201);
  const leased = await api(
    'POST',
    `/workers/${node}/lease`,
    { max_jobs: count, wait_sec: 0 },
    NODE,
  );
  expect(leased.body.jobs).toHaveLength(count);
  for (const j of leased.body.jobs) {
    const res = await api(
      'POST',
      `/jobs/${j.job_id}/result`,
      {
        worker_id: node,
        attempt: j.attempt,
        token: j.token,
        exit_code: 1,
        stdout: '',
        stderr: 'boom',
        duration_ms: 1,
        executor: 'native',
      },
      NODE,
    );
    expect(res.status).toBe(200);
  }
  await api('DELETE', `/workers/${node}`, undefined, NODE);
  for (const id of ids) expect((await jobOf(id)).status).toBe('failed');
  return ids;
}

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

describe('bulk pages are safe to run twice', () => {
  it('a page run again acts on nothing again and is counted once', async () => {
    const queue = fresh('bulk-twice');
    const failed = await failedJobs(queue, 2);
    const replayed = await submitMany(queue, 1);
    await api('POST', `/jobs/${replayed[0]}/cancel`);
    const db = dbOf(env.DB);
    for (const action of ['retry', 'replay'] as const) {
      const res = await bulk({
        action,
        filter: { queue, status: action === 'retry' ? 'failed' : 'cancelled' },
      });
      const row = (await getBulk(db, null, res.body.bulk.id))!;
      // The same page once more, from the row as it was before the first run committed.
      const stale = { ...row, status: 'running' as const, done: 0, cursorAt: -1, cursorId: '' };
      expect(await runBulkPage(workerEnv, stale, { lastTry: true, paced: false })).toEqual({
        kind: 'raced',
      });
      expect((await getBulk(db, null, row.id))!.done).toBe(row.done);
    }
    for (const id of failed) expect((await jobOf(id)).attempts).toBe(1);
    const all = (await api('GET', `/jobs?queue=${queue}`)).body.jobs;
    expect(
      all.filter((j: { replay_of: string | null }) => j.replay_of === replayed[0]),
    ).toHaveLength(1);
    // The queue's object remembers its verdicts: asked again for the same action, it acts on nothing.
    const stub = env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
    const again = await stub.bulkAct(queue, {
      bulk_id: 'bk_TWICE',
      tenant: 'default',
      action: 'cancel',
      ids: failed,
      priority: null,
      status: null,
    });
    expect(again).toMatchObject({ done: 2, skipped: 0 });
    const twice = await stub.bulkAct(queue, {
      bulk_id: 'bk_TWICE',
      tenant: 'default',
      action: 'cancel',
      ids: failed,
      priority: null,
      status: null,
    });
    expect(twice).toMatchObject({ done: 2, skipped: 0 });
    for (const id of failed) expect((await jobOf(id)).status).toBe('cancelled');
  });
});

describe('a large bulk action runs in the background', () => {
  it('cancels 1,500 jobs and then retries them, each exactly once, with progress reaching the end', async () => {
    const queue = fresh('bulk-large');
    const ids = await submitMany(queue, 1500);
    const res = await bulk({ action: 'cancel', filter: { queue } });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/jobs/bulk/${res.body.bulk.id}`);
    expect(res.body.bulk).toMatchObject({ status: 'running', matched: 1500 });
    const seen = new Set<number>();
    const done = await waitFor(
      'the bulk cancel to complete',
      async () => {
        const b = (await api('GET', `/jobs/bulk/${res.body.bulk.id}`)).body.bulk;
        seen.add(b.done);
        return b.status === 'completed' ? b : undefined;
      },
      60_000,
    );
    expect(done).toMatchObject({ matched: 1500, done: 1500, skipped: 0, failed: 0 });
    expect(done.finished_at).not.toBeNull();
    const counts = await env.DB.prepare(
      'SELECT status, count(*) AS n FROM jobs WHERE queue = ? GROUP BY status',
    )
      .bind(queue)
      .all<{ status: string; n: number }>();
    expect(counts.results).toEqual([{ status: 'cancelled', n: 1500 }]);

    const retry = await bulk({ action: 'retry', filter: { queue, status: 'cancelled' } });
    expect(retry.status).toBe(202);
    const retried = await waitFor(
      'the bulk retry to complete',
      async () => {
        const b = (await api('GET', `/jobs/bulk/${retry.body.bulk.id}`)).body.bulk;
        return b.status === 'completed' ? b : undefined;
      },
      60_000,
    );
    expect(retried).toMatchObject({ matched: 1500, done: 1500, skipped: 0, failed: 0 });
    expect((await api('GET', `/queues/${queue}`)).body.by_status.queued).toBe(1500);
    const rows = await env.DB.prepare(
      'SELECT status, attempts, count(*) AS n FROM jobs WHERE queue = ? GROUP BY status, attempts',
    )
      .bind(queue)
      .all<{ status: string; attempts: number; n: number }>();
    expect(rows.results).toEqual([{ status: 'queued', attempts: 0, n: 1500 }]);
    expect(seen.size).toBeGreaterThan(0);
    expect(ids).toHaveLength(1500);
  }, 120_000);
});

describe('bulk actions are rate limited like submissions', () => {
  const limit3 = { RATE_LIMIT_JOBS_PER_MIN: '3' };
  it('costs one token to ask, and a small retry or replay pays for its jobs up front, all or nothing', async () => {
    const ip = { 'cf-connecting-ip': '192.0.2.77' };
    const queue = fresh('bulk-rl');
    const ids = await submitMany(queue, 4);
    for (const id of ids) await api('POST', `/jobs/${id}/cancel`);
    const cancel = await callWithVars(
      limit3,
      'POST',
      '/jobs/bulk',
      { action: 'cancel', filter: { queue } },
      ip,
    );
    expect(cancel.status).toBe(200);
    expect(cancel.headers.get('ratelimit-remaining')).toBe('2');
    const replay = await callWithVars(
      limit3,
      'POST',
      '/jobs/bulk',
      { action: 'replay', filter: { queue } },
      ip,
    );
    expect(replay.status).toBe(429);
    expect(replay.body.error.message).toMatch(/replaying 4 jobs/);
    expect((await api('GET', `/jobs?queue=${queue}`)).body.total).toBe(4);
  });

  it('paces a large retry or replay in the background by the bucket it was accepted under', async () => {
    const queue = fresh('bulk-paced');
    const ids = await submitMany(queue, 5);
    const res = await bulk({ action: 'cancel', filter: { queue } });
    expect(res.body.bulk.done).toBe(5);
    const db = dbOf(env.DB);
    // The row of a large replay accepted under a limit of 3 jobs per minute (its own bucket).
    const id = `bk_${'0'.repeat(13)}${Date.now()}`;
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO bulk_actions (id, tenant, action, filter, status, matched, accepted_at, rate_key, rate_limit, created_at, updated_at) VALUES (?, 'default', 'replay', ?, 'running', 5, ?, ?, 3, ?, ?)",
    )
      .bind(id, JSON.stringify({ queue }), now, `test:${queue}`, now, now)
      .run();
    const row = { id };
    const fromDb = async () => (await getBulk(db, null, row.id))!;
    expect(await runBulkPage(workerEnv, await fromDb(), { lastTry: false, paced: true })).toEqual({
      kind: 'committed',
      last: false,
    });
    expect((await fromDb()).done).toBe(3);
    const next = await runBulkPage(workerEnv, await fromDb(), { lastTry: false, paced: true });
    expect(next.kind).toBe('wait');
    expect((await fromDb()).done).toBe(3);
    expect(ids).toHaveLength(5);
  });
});
