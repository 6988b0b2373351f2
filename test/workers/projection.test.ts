/**
 * D1 as the projection of each queue's object (issue 14): a job's several transitions that wait in
 * the outbox reach D1 as one update with the final state, many jobs go out as multi-row statements
 * within D1's 100 bound parameters, and the lag of the projection is a gauge per queue. All against
 * the real object and real D1: D1 is made to fail by taking a table away, and what D1 applies is
 * seen by a trigger in D1 itself.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Scheduler } from '../../durable-objects/scheduler';
import { Outbox } from '../../durable-objects/outbox';
import { parseSamples } from '../../src/core/prometheus';
import { dbOf } from '../../src/db/client';
import { recordAttempt } from '../../src/db/job-attempts';
import { insertJobs, updateJob } from '../../src/db/write-jobs';
import { jobRow } from '../unit/db/job-row';
import { api, submit, WORKER_TOKEN, waitFor } from './helpers';

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;
const stubOf = (queue: string) =>
  env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)) as DurableObjectStub<Scheduler>;
const inObject = <T>(queue: string, fn: (s: Scheduler, state: DurableObjectState) => Promise<T>) =>
  runInDurableObject(stubOf(queue), (s, state) => fn(s as unknown as Scheduler, state));
const metrics = async () => parseSamples((await api('GET', '/metrics')).body as string);

describe('the D1 projection', () => {
  it('writes a job’s transitions that waited for D1 as one update with the final state, and its lag goes back to 0', async () => {
    const queue = fresh('proj');
    const worker = fresh('proj-node');
    const reg = await api(
      'POST',
      '/workers/register',
      { id: worker, mode: 'pull', capacity: 1, executors: ['native'], queues: [queue] },
      auth,
    );
    expect(reg.status).toBe(201);
    const job = (await submit({ payload: 'x', queue })).body.job;

    // Every update of this job's row that D1 applies (an update the version guard refuses is not).
    const seen = `seen_${job.id.replace(/\W/g, '_')}`;
    await env.DB.prepare(
      `CREATE TABLE ${seen} (status TEXT, attempts INTEGER, version INTEGER)`,
    ).run();
    await env.DB.prepare(
      `CREATE TRIGGER ${seen}_t AFTER UPDATE ON jobs WHEN NEW.id = '${job.id}' BEGIN INSERT INTO ${seen} VALUES (NEW.status, NEW.attempts, NEW.version); END`,
    ).run();
    const applied = async () =>
      (await env.DB.prepare(`SELECT status, attempts FROM ${seen}`).all()).results;

    // A failure D1 will not get over by itself: the attempt history's table is away, so the first
    // batch with an attempt row fails and everything behind it waits in the outbox, in order.
    await env.DB.exec('ALTER TABLE job_attempts RENAME TO job_attempts_away');
    try {
      const lease = async (request: string) => {
        const out = await inObject(queue, (s) =>
          s.lease(queue, worker, { wait_ms: 2000, request_id: request }),
        );
        if (!out.ok) throw new Error(JSON.stringify(out));
        expect(out.jobs.map((j) => j.job_id)).toEqual([job.id]);
        return out.jobs[0];
      };
      const first = await lease('r1');
      // Running: no attempt row yet, so D1 takes it at once.
      await waitFor('the first lease in D1', async () =>
        (await applied()).length === 1 ? true : undefined,
      );
      await inObject(queue, (s) =>
        s.declineLeases(queue, worker, [
          { job_id: job.id, attempt: first.attempt, token: first.token },
        ]),
      );
      await lease('r2');
      expect((await inObject(queue, (s) => s.cancel(queue, job.id))).ok).toBe(true);

      // Requeued, running, cancelled: three transitions, two attempt rows, none in D1 yet.
      const waiting = await metrics();
      expect(waiting.get(`scheduler_projection_pending{queue="${queue}"}`)).toBeGreaterThanOrEqual(
        5,
      );
      expect(waiting.get(`scheduler_projection_lag_seconds{queue="${queue}"}`)).toBeGreaterThan(0);
      expect(await applied()).toEqual([{ status: 'running', attempts: 1 }]);
    } finally {
      await env.DB.exec('ALTER TABLE job_attempts_away RENAME TO job_attempts');
    }

    // D1 answers again: the alarm writes the outbox, and the job's row gets one update.
    expect(await runDurableObjectAlarm(stubOf(queue))).toBe(true);
    expect(await applied()).toEqual([
      { status: 'running', attempts: 1 },
      { status: 'cancelled', attempts: 2 },
    ]);
    const row = await env.DB.prepare(
      'SELECT status, attempts, worker_id, error FROM jobs WHERE id = ?',
    )
      .bind(job.id)
      .first();
    expect(row).toEqual({
      status: 'cancelled',
      attempts: 2,
      worker_id: worker,
      error: 'cancelled',
    });
    const attempts = await env.DB.prepare(
      'SELECT attempt, reason FROM job_attempts WHERE job_id = ? ORDER BY attempt',
    )
      .bind(job.id)
      .all();
    expect(attempts.results).toEqual([
      { attempt: 1, reason: 'lease_lost' },
      { attempt: 2, reason: 'cancelled' },
    ]);

    const caughtUp = await metrics();
    expect(caughtUp.get(`scheduler_projection_pending{queue="${queue}"}`)).toBe(0);
    expect(caughtUp.get(`scheduler_projection_lag_seconds{queue="${queue}"}`)).toBe(0);
    await env.DB.exec(`DROP TRIGGER ${seen}_t; DROP TABLE ${seen}`);
  });

  it('submits a batch of 100 jobs in multi-row inserts of 2 rows (68 parameters) each', async () => {
    const queue = fresh('proj-batch');
    const before = (await metrics()).get(`scheduler_d1_statements_total{queue="${queue}"}`) ?? 0;
    const jobs = Array.from({ length: 100 }, (_, i) => ({ payload: i, queue }));
    expect((await api('POST', '/jobs/batch', { jobs })).status).toBe(201);
    // 50 inserts of 2 rows and the queue's row: not 100 statements, and no statement over D1's
    // 100 parameters (34 columns a row since rate_limit, migrations/0015).
    // The 201 may come before D1 has the rows (the object's commit is the acceptance): wait for it.
    const caughtUp = await waitFor('the outbox to be written', async () => {
      const m = await metrics();
      return m.get(`scheduler_projection_pending{queue="${queue}"}`) === 0 ? m : undefined;
    });
    expect(caughtUp.get(`scheduler_d1_statements_total{queue="${queue}"}`)! - before).toBe(51);
  });

  it('flushes inserts, attempt rows and each job’s merged updates within 100 bound parameters each', async () => {
    const queue = fresh('proj-params');
    const db = dbOf(env.DB);
    // 56 jobs: 28 inserts and 168 transitions, one outbox batch (200 rows) since rate_limit made a
    // job row 34 columns (2 a statement).
    const ids = Array.from({ length: 56 }, (_, i) => `${queue}-job-${i}`);
    const stmts = [
      ...insertJobs(
        db,
        ids.map((id) => jobRow(id, queue)),
      ),
      ...ids.flatMap((id) => [
        updateJob(db, id, {
          status: 'running',
          workerId: 'w',
          startedAt: 2,
          updatedAt: 2,
          version: 2,
        }),
        recordAttempt(db, attemptRow(id)),
        updateJob(db, id, {
          status: 'failed',
          error: 'boom',
          finishedAt: 3,
          updatedAt: 3,
          version: 3,
        }),
      ]),
    ];
    const bound: number[] = [];
    const landed = await inObject(queue, async (_s, state) => {
      // The object's own SQLite and the real D1, seen through a proxy that records each statement's
      // parameters on their way to D1.
      const outbox = new Outbox(state.storage.sql, recording(env.DB, bound), {
        stalled: () => {},
        retryMs: 1000,
        faultRate: () => 0,
      });
      return outbox.landed(outbox.add(stmts), 10_000);
    });
    expect(landed).toBe(true);
    // 28 inserts of 2 jobs, 6 of (up to) 10 attempt rows, and one update per job instead of two.
    expect(bound).toHaveLength(28 + 6 + 56);
    expect(Math.max(...bound)).toBeLessThanOrEqual(100);
    const rows = await env.DB.prepare(
      'SELECT status, worker_id AS w, count(*) AS n FROM jobs WHERE queue = ? GROUP BY status, worker_id',
    )
      .bind(queue)
      .all();
    expect(rows.results).toEqual([{ status: 'failed', w: 'w', n: 56 }]);
  });
});

function recording(db: D1Database, bound: number[]): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare')
        return (query: string) => {
          const stmt = target.prepare(query);
          return new Proxy(stmt, {
            get(s, p) {
              if (p === 'bind')
                return (...values: unknown[]) => {
                  bound.push(values.length);
                  return s.bind(...values);
                };
              const value = Reflect.get(s, p, s);
              return typeof value === 'function' ? value.bind(s) : value;
            },
          });
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function attemptRow(jobId: string) {
  return {
    jobId,
    attempt: 1,
    workerId: 'w',
    executor: null,
    startedAt: 2,
    finishedAt: 3,
    exitCode: 1,
    error: 'boom',
    timedOut: false,
    reason: 'failed' as const,
  };
}
