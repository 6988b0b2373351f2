/**
 * The seams between the Scheduler object, D1 and the cron (issue "No job runs twice, none stalls").
 * Each test reproduces one way a finished job could run again, or a job could be lost or stall, with
 * real D1 faults: a trigger that makes D1 refuse one job's writes, a row set back as if D1 were behind.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ulid } from '../../src/core/ids';
import type { Scheduler } from '../../durable-objects/scheduler';
import { api, submit, WORKER_TOKEN, waitFor, fireCron } from './helpers';

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;
const stubOf = (queue: string) =>
  env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)) as DurableObjectStub<Scheduler>;

interface Leased {
  job_id: string;
  worker_id: string;
  attempt: number;
  token: string;
}

async function pullNode(queue: string, capacity = 1): Promise<string> {
  const id = fresh('node');
  const res = await api(
    'POST',
    '/workers/register',
    { id, mode: 'pull', capacity, executors: ['native'], queues: [queue] },
    auth,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return id;
}

async function lease(node: string, maxJobs = 1, waitSec = 5): Promise<Leased[]> {
  const res = await api(
    'POST',
    `/workers/${node}/lease`,
    { max_jobs: maxJobs, wait_sec: waitSec },
    auth,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.jobs as Omit<Leased, 'worker_id'>[]).map((j) => ({ ...j, worker_id: node }));
}

const report = (l: Leased, stdout = '{"ok":true}') =>
  api(
    'POST',
    `/jobs/${l.job_id}/result`,
    {
      worker_id: l.worker_id,
      attempt: l.attempt,
      token: l.token,
      exit_code: 0,
      stdout,
      stderr: '',
      duration_ms: 2,
      executor: 'native',
    },
    auth,
  );

const jobOf = async (id: string) => (await api('GET', `/jobs/${id}`)).body.job;

const outboxSize = (queue: string) =>
  runInDurableObject(
    stubOf(queue),
    (_s, state) =>
      state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n,
  );

// Several tests wait out a retry or an idempotency wait on the old code: give them room to fail honestly.
const SLOW = { timeout: 30_000 };

describe('a job whose finish the object accepted is never dispatched again', () => {
  it('the cron repairs D1 from the object instead of importing a finished job D1 still shows running', async () => {
    const queue = fresh('cron-finished');
    const job = (await submit({ payload: 1, queue })).body.job;
    const node = await pullNode(queue);
    const [l] = await lease(node);
    expect((await report(l)).status).toBe(200);
    // D1 behind the object: the finishing write has not landed yet when the cron reads.
    await env.DB.prepare("UPDATE jobs SET status = 'running', finished_at = NULL WHERE id = ?")
      .bind(job.id)
      .run();
    await fireCron();
    expect(await lease(node, 1, 0)).toEqual([]);
    const after = await jobOf(job.id);
    expect(after).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it(
    'results streaming in while the cron fires repeatedly: no job leased twice',
    SLOW,
    async () => {
      const queue = fresh('cron-race');
      const jobs = (
        await api('POST', '/jobs/batch', {
          jobs: Array.from({ length: 50 }, (_, i) => ({ payload: i, queue })),
        })
      ).body.jobs as { id: string }[];
      const node = await pullNode(queue, 50);
      const leased = await lease(node, 50);
      expect(leased).toHaveLength(50);
      const answers = await Promise.all([
        ...leased.map((l) => report(l)),
        fireCron(),
        fireCron(),
        fireCron(),
      ]);
      for (const a of answers) if (a) expect(a.status).toBe(200);
      await fireCron();
      expect(await lease(node, 50, 0)).toEqual([]);
      for (const j of jobs)
        expect(await jobOf(j.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    },
  );
});

describe('D1 converges to the object', () => {
  it('a refused write retried after a newer one landed does not set D1 back', SLOW, async () => {
    const queue = fresh('reorder');
    const job = (await submit({ payload: 1, queue })).body.job;
    // D1 refuses this job's "running" write (a non-constraint error, as a transient fault would be).
    await env.DB.exec(
      `CREATE TRIGGER refuse_running BEFORE UPDATE ON jobs WHEN NEW.id = '${job.id}' AND NEW.status = 'running' BEGIN SELECT json('not json'); END`,
    );
    try {
      const node = await pullNode(queue);
      const [l] = await lease(node);
      // The result arrives while the refused write is still being retried.
      expect((await report(l)).status).toBe(200);
      await waitFor('the refused write to be left to the outbox', async () =>
        (await outboxSize(queue)) > 0 ? true : undefined,
      );
    } finally {
      await env.DB.exec('DROP TRIGGER refuse_running');
    }
    await runDurableObjectAlarm(stubOf(queue));
    await waitFor('the outbox to drain', async () =>
      (await outboxSize(queue)) === 0 ? true : undefined,
    );
    expect(await jobOf(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    await fireCron();
    expect(await jobOf(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});

describe('a submission is all or nothing', () => {
  it("logs the job's D1 insert in the same turn as the object's own commit", SLOW, async () => {
    const queue = fresh('submit-wal');
    await submit({ payload: 0, queue }); // the object exists and knows its queue
    await env.DB.exec(
      `CREATE TRIGGER refuse_insert BEFORE INSERT ON jobs WHEN NEW.queue = '${queue}' BEGIN SELECT json('not json'); END`,
    );
    try {
      const seen = await runInDurableObject(stubOf(queue), async (s, state) => {
        const sql = state.storage.sql;
        const jobsBefore = sql.exec<{ n: number }>('SELECT count(*) AS n FROM jobs').one().n;
        const pending = (s as unknown as Scheduler).submit(queue, [newJob(queue)]);
        // Poll the object's own storage: the moment the job is committed there, its D1 insert must be too.
        for (let i = 0; i < 2000; i++) {
          if (sql.exec<{ n: number }>('SELECT count(*) AS n FROM jobs').one().n > jobsBefore) break;
          await new Promise((r) => setTimeout(r, 1));
        }
        const logged = sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n;
        await pending;
        return logged;
      });
      expect(seen).toBeGreaterThan(0);
    } finally {
      await env.DB.exec('DROP TRIGGER refuse_insert');
    }
  });

  it(
    'a retry with the same idempotency key reaches the job its first request claimed, even if that request died before the object',
    SLOW,
    async () => {
      const queue = fresh('idem-claim');
      const body = { payload: { n: 7 }, queue };
      // A first request with another key gives the stored hash of this exact body.
      expect((await submit(body, { 'x-idempotency-key': `${queue}-a` })).status).toBe(201);
      const { tenant, request_hash } = (await env.DB.prepare(
        'SELECT tenant, request_hash FROM idempotency_keys WHERE key = ?',
      )
        .bind(`${queue}-a`)
        .first()) as { tenant: string; request_hash: string };
      // The key a request claimed before it died: its job id reached neither the object nor D1.
      const claimed = `${queue}.${ulid(Date.now())}`;
      await env.DB.prepare(
        'INSERT INTO idempotency_keys (tenant, key, job_ids, request_hash, expires_at) VALUES (?, ?, ?, ?, ?)',
      )
        .bind(tenant, `${queue}-b`, JSON.stringify([claimed]), request_hash, Date.now() + 60_000)
        .run();
      const retry = await submit(body, { 'x-idempotency-key': `${queue}-b` });
      expect(retry.status, JSON.stringify(retry.body)).toBeLessThan(300);
      expect(retry.body.job.id).toBe(claimed);
      const again = await submit(body, { 'x-idempotency-key': `${queue}-b` });
      expect(again.status).toBe(200);
      expect(again.body.job.id).toBe(claimed);
      // Visible and cancellable.
      expect((await api('POST', `/jobs/${claimed}/cancel`)).status).toBe(200);
    },
  );
});

describe('stored results are bounded', () => {
  it('a result that grows past a storage value when serialised is trimmed, and later writes still land', async () => {
    const queue = fresh('big-result');
    const job = (await submit({ payload: 1, queue })).body.job;
    const node = await pullNode(queue);
    const [l] = await lease(node);
    // 1 MiB of stdout that is JSON full of escaped quotes: each escape doubles again when stored.
    const stdout = JSON.stringify({ s: '"'.repeat(520_000) });
    const res = await report(l, stdout);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    const done = await waitFor('the job to be succeeded in D1', async () => {
      const j = await jobOf(job.id);
      return j.status === 'succeeded' ? j : undefined;
    });
    expect(done.result.output_truncated).toBe(true);
    expect(JSON.stringify(done.result).length).toBeLessThan(600_000);
    // The queue's later writes are not stuck behind it.
    const next = (await submit({ payload: 2, queue })).body.job;
    const [l2] = await lease(node);
    expect((await report(l2)).status).toBe(200);
    await waitFor('the next job to be succeeded', async () =>
      (await jobOf(next.id)).status === 'succeeded' ? true : undefined,
    );
    expect(await outboxSize(queue)).toBe(0);
  });
});

describe('per-queue storage is bounded by the work in flight', () => {
  it("a finished job's lease deadline does not keep an alarm", async () => {
    const queue = fresh('lease-heap');
    await submit({ payload: 1, queue, timeout_sec: 3000 });
    const node = await pullNode(queue);
    const [l] = await lease(node);
    expect((await report(l)).status).toBe(200);
    // The engine's next deadline is what the alarm is armed for (queue-shell.ts armAlarm).
    const next = await runInDurableObject(stubOf(queue), (s) =>
      (s as unknown as { s: { engine: { nextDeadline(): number } } }).s.engine.nextDeadline(),
    );
    expect(next).toBe(Infinity);
  });

  it('the log lines of a job go with it when retention prunes the job', async () => {
    const id = `${fresh('logs')}.${ulid(Date.now() - 40 * 86_400_000)}`;
    const old = Date.now() - 40 * 86_400_000;
    await env.DB.prepare(
      `INSERT INTO jobs (id, tenant, queue, type, payload, priority, status, attempts, max_retries, timeout_sec, created_at, updated_at, finished_at)
       VALUES (?, 'anonymous', 'logs', 'echo', '1', 1, 'succeeded', 1, 3, 60, ?, ?, ?)`,
    )
      .bind(id, old, old, old)
      .run();
    await env.DB.prepare('INSERT INTO job_logs (job_id, attempt, ts, line) VALUES (?, 1, ?, ?)')
      .bind(id, old, 'hello')
      .run();
    await fireCron();
    expect((await api('GET', `/jobs/${id}`)).status).toBe(404);
    const left = await env.DB.prepare('SELECT count(*) AS n FROM job_logs WHERE job_id = ?')
      .bind(id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

function newJob(queue: string) {
  const now = Date.now();
  return {
    id: `${queue}.${ulid(now)}`,
    tenant: 'anonymous',
    type: 'echo',
    payload: '1',
    priority: 1,
    max_retries: 3,
    timeout_sec: 60,
    executor: null,
    created_at: now,
    run_at: null,
    concurrency_key: null,
    concurrency_limit: null,
    requires: null,
    backoff: null,
  };
}
