import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Scheduler } from '../../durable-objects/scheduler';
import { api, submit } from './helpers';

const stubOf = (queue: string) => env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)) as DurableObjectStub<Scheduler>;

describe('D1 outbox', () => {
  it('keeps a transition D1 refused and writes it once D1 is back; reconcile does not resurrect the job meanwhile', async () => {
    const queue = `outbox-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    // A real D1 failure: the jobs table is briefly not there.
    await env.DB.exec('ALTER TABLE jobs RENAME TO jobs_away');
    try {
      const outcome = await runInDurableObject(stubOf(queue), (s) => (s as unknown as Scheduler).cancel(queue, job.id));
      expect(outcome.ok).toBe(true);
      const reconciled = await runInDurableObject(stubOf(queue), (s) => (s as unknown as Scheduler).reconcile(queue));
      expect(reconciled).toEqual({ imported: 0 });
    } finally {
      await env.DB.exec('ALTER TABLE jobs_away RENAME TO jobs');
    }
    // D1 still shows the old state until the outbox is flushed...
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('queued');
    // ...which the alarm (here: the cron's reconcile) does, in order, before trusting D1 again.
    const after = await runInDurableObject(stubOf(queue), (s) => (s as unknown as Scheduler).reconcile(queue));
    expect(after).toEqual({ imported: 0 });
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('cancelled');
    expect((await api('GET', `/queues/${queue}`)).body.head).toEqual([]);
  });
});
