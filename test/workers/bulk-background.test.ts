/**
 * Bulk actions in the background, in workerd with the real BulkRunner object, Scheduler objects and
 * D1: a large set finishing with every job acted on once, a page run twice, and the rate limit.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, callWithVars, waitFor } from './helpers';
import { runBulkPage } from '../../src/api/bulk-run';
import { getBulk } from '../../src/db/bulk-actions';
import { dbOf } from '../../src/db/client';
import { bulk, failedJobs, fresh, jobOf, submitMany, workerEnv } from './bulk-fixtures';

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
