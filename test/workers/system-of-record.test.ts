/**
 * The queue's object is the system of record, D1 its projection (issue 14): a submission is
 * answered once the object has committed it, and `GET /jobs/:id` answers from the object while D1
 * lags it. D1 fails for real here: its jobs table is renamed away, so every job write and read of D1
 * fails, as in outbox.test.ts.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Scheduler } from '../../durable-objects/scheduler';
import { api, submit, WORKER_TOKEN } from './helpers';

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
const stubOf = (queue: string) =>
  env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)) as DurableObjectStub<Scheduler>;
const d1Status = async (id: string) =>
  (
    await env.DB.prepare('SELECT status FROM jobs WHERE id = ?')
      .bind(id)
      .first<{ status: string }>()
  )?.status;

describe('the object as system of record, D1 as its projection', () => {
  it('accepts, shows, runs and finishes a job while D1 cannot take it, and D1 catches up after', async () => {
    const queue = `sor-${Date.now().toString(36)}`;
    // The queue exists before D1 goes away (its registry row is another table, still there).
    const node = `sor-node-${Date.now().toString(36)}`;
    const reg = { id: node, mode: 'pull', capacity: 1, executors: ['native'], queues: [queue] };
    expect((await api('POST', '/workers/register', reg, auth)).status).toBe(201);
    await env.DB.exec('ALTER TABLE jobs RENAME TO jobs_away');
    let id: string;
    try {
      const started = Date.now();
      const accepted = await submit({ payload: { n: 1 }, queue });
      // Before: 503 storage_unavailable after 3 s, and the job undone.
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
      expect(Date.now() - started).toBeLessThan(2900);
      id = accepted.body.job.id;
      const shown = await api('GET', `/jobs/${id}`);
      expect(shown.status, JSON.stringify(shown.body)).toBe(200);
      expect(shown.body.job).toMatchObject({ id, queue, status: 'queued', attempts: 0 });

      const leased = await api('POST', `/workers/${node}/lease`, { wait_sec: 5 }, auth);
      expect(leased.status, JSON.stringify(leased.body)).toBe(200);
      expect(leased.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([id]);
      const l = leased.body.jobs[0];
      expect((await api('GET', `/jobs/${id}`)).body.job).toMatchObject({
        status: 'running',
        attempts: 1,
        worker_id: node,
      });
      const report = { worker_id: node, attempt: l.attempt, token: l.token, exit_code: 0 };
      const done = await api(
        'POST',
        `/jobs/${id}/result`,
        { ...report, stdout: '{"ok":1}', stderr: '', duration_ms: 2, executor: 'native' },
        auth,
      );
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      const finished = (await api('GET', `/jobs/${id}`)).body.job;
      expect(finished).toMatchObject({ status: 'succeeded', result: { output: { ok: 1 } } });
      expect(finished.finished_at).not.toBeNull();
    } finally {
      await env.DB.exec('ALTER TABLE jobs_away RENAME TO jobs');
    }
    // D1 has none of it yet: its writes wait in the object's outbox...
    expect(await d1Status(id)).toBeUndefined();
    // ...which the alarm or the cron writes, in order, once D1 answers again.
    await runInDurableObject(stubOf(queue), (s) => (s as unknown as Scheduler).reconcile(queue));
    expect(await d1Status(id)).toBe('succeeded');
    const listed = (await api('GET', `/jobs?queue=${queue}`)).body.jobs;
    expect(listed.map((j: { id: string; status: string }) => [j.id, j.status])).toEqual([
      [id, 'succeeded'],
    ]);
  });

  it('answers for a job only to its own tenant (or the operator)', async () => {
    const queue = `sor-t-${Date.now().toString(36)}`;
    const job = (await submit({ payload: 1, queue })).body.job;
    const id = job.id;
    expect((await api('GET', `/jobs/${id}`)).status).toBe(200);
    const seen = await runInDurableObject(stubOf(queue), (s) =>
      (s as unknown as Scheduler).jobRow(queue, id, 'someone-else'),
    );
    expect(seen).toBeNull();
    const operator = await runInDurableObject(stubOf(queue), (s) =>
      (s as unknown as Scheduler).jobRow(queue, id, null),
    );
    expect(operator).toMatchObject({ id, tenant: job.tenant });
    const own = await runInDurableObject(stubOf(queue), (s) =>
      (s as unknown as Scheduler).jobRow(queue, id, job.tenant),
    );
    expect(own).toMatchObject({ id });
  });

  it('answers 404 for the id of a queue nobody named', async () => {
    const res = await api(
      'GET',
      `/jobs/never-named-${Date.now().toString(36)}.01J00000000000000000000000`,
    );
    expect(res.status).toBe(404);
  });
});
