import {
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Scheduler } from '../../durable-objects/scheduler';
import { api, submit } from './helpers';

const stubOf = (queue: string) =>
  env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)) as DurableObjectStub<Scheduler>;

describe('D1 outbox', () => {
  it('keeps a transition D1 refused and writes it once D1 is back; reconcile does not resurrect the job meanwhile', async () => {
    const queue = `outbox-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    // A real D1 failure: the jobs table is briefly not there.
    await env.DB.exec('ALTER TABLE jobs RENAME TO jobs_away');
    try {
      const outcome = await runInDurableObject(stubOf(queue), (s) =>
        (s as unknown as Scheduler).cancel(queue, job.id),
      );
      expect(outcome.ok).toBe(true);
      const reconciled = await runInDurableObject(stubOf(queue), (s) =>
        (s as unknown as Scheduler).reconcile(queue),
      );
      expect(reconciled).toEqual({ imported: 0 });
    } finally {
      await env.DB.exec('ALTER TABLE jobs_away RENAME TO jobs');
    }
    // D1 still holds the old state until the outbox is flushed (the API already answers with the
    // object's: read-your-writes, system-of-record.test.ts)...
    const inD1 = await env.DB.prepare('SELECT status FROM jobs WHERE id = ?')
      .bind(job.id)
      .first<{ status: string }>();
    expect(inD1?.status).toBe('queued');
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('cancelled');
    // ...which the alarm (here: the cron's reconcile) does, in order, before trusting D1 again.
    const after = await runInDurableObject(stubOf(queue), (s) =>
      (s as unknown as Scheduler).reconcile(queue),
    );
    expect(after).toEqual({ imported: 0 });
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('cancelled');
    expect((await api('GET', `/queues/${queue}`)).body.head).toEqual([]);
  });

  it('records the D1 change in the same turn as the state change, and forgets it once D1 has it', async () => {
    const queue = `outbox-wal-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    const pendingDuringWrite = await runInDurableObject(stubOf(queue), async (s, state) => {
      const done = (s as unknown as Scheduler).cancel(queue, job.id);
      // Nothing has been awaited yet: a crash now would lose the D1 write unless it is already logged.
      const pending = state.storage.sql
        .exec<{ n: number }>('SELECT count(*) AS n FROM outbox')
        .one().n;
      expect((await done).ok).toBe(true);
      return {
        pending,
        after: state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n,
      };
    });
    expect(pendingDuringWrite.pending).toBeGreaterThan(0);
    expect(pendingDuringWrite.after).toBe(0);
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('cancelled');
  });

  it('replays what a previous incarnation left in the outbox, so D1 is not left on the old state', async () => {
    const queue = `outbox-restart-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    await env.DB.exec('ALTER TABLE jobs RENAME TO jobs_away');
    try {
      expect(
        (
          await runInDurableObject(stubOf(queue), (s) =>
            (s as unknown as Scheduler).cancel(queue, job.id),
          )
        ).ok,
      ).toBe(true);
    } finally {
      await env.DB.exec('ALTER TABLE jobs_away RENAME TO jobs');
    }
    // The object goes away before its alarm ran: the new one must find the change and finish it.
    await evictDurableObject(stubOf(queue));
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('queued');
    expect(await runDurableObjectAlarm(stubOf(queue))).toBe(true);
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('cancelled');
    const left = await runInDurableObject(
      stubOf(queue),
      (_s, state) =>
        state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n,
    );
    expect(left).toBe(0);
  });
});
