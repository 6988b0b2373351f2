import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { courierFor, type Courier, type Parcel } from '../../durable-objects/courier';
import type { Scheduler } from '../../durable-objects/scheduler';
import { api, submit, waitFor } from './helpers';

// Callbacks leave through a Courier per receiver origin (issue 12, item 2). The isolation itself is
// measured end to end in test/e2e/callback-isolation.test.ts; here: the hand-over and its storage.

const stubOf = (queue: string) =>
  env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`)) as DurableObjectStub<Scheduler>;
/** Nothing listens on port 9 here: every attempt fails at once and is retried. One courier. */
const DEAD = (path: string) => `http://127.0.0.1:9/${path}`;

interface ParcelRow {
  job_id: string;
  event: string;
  attempts: number;
  done: number;
}

const parcelsAt = (url: string) =>
  runInDurableObject(courierFor(env.COURIER, url), (_c, state) =>
    state.storage.sql
      .exec<ParcelRow & Record<string, SqlStorageValue>>('SELECT * FROM parcels')
      .toArray(),
  );

const leftInScheduler = (queue: string) =>
  runInDurableObject(
    stubOf(queue),
    (_s, state) =>
      state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM deliveries').one().n,
  );

describe('courier', () => {
  it("hands a finished job's callback to its origin's courier, which records each attempt on the job", async () => {
    const queue = `courier-${Date.now()}`;
    const url = DEAD(`cancelled-${queue}`);
    const job = (await submit({ payload: 1, queue, callback_url: url })).body.job;
    expect((await api('POST', `/jobs/${job.id}/cancel`)).status).toBe(200);

    const shown = await waitFor('the first attempt on the job', async () => {
      const cb = (await api('GET', `/jobs/${job.id}`)).body.job.callback;
      return cb?.attempts >= 1 ? cb : undefined;
    });
    expect(shown).toMatchObject({ url, event: 'job.cancelled', status: 'pending' });
    expect(shown.last_error).toBeTruthy();
    expect(await leftInScheduler(queue)).toBe(0);
    const rows = (await parcelsAt(url)).filter((r) => r.job_id === job.id);
    expect(rows).toMatchObject([{ event: 'job.cancelled', done: 0 }]);
  });

  it('a delivery a Scheduler stored before couriers existed is handed over with its attempts', async () => {
    const queue = `courier-legacy-${Date.now()}`;
    const url = DEAD(`legacy-${queue}`);
    const job = (await submit({ payload: 1, queue })).body.job;
    await runInDurableObject(stubOf(queue), (_s, state) => {
      state.storage.sql.exec(
        'INSERT INTO deliveries (job_id, url, event, body, attempts, next_at) VALUES (?, ?, ?, ?, ?, ?)',
        job.id,
        url,
        'job.succeeded',
        JSON.stringify({ event: 'job.succeeded', job: { id: job.id } }),
        3,
        Date.now() - 1000,
      );
    });
    // The cron's reconcile runs the same tick as the alarm.
    await runInDurableObject(stubOf(queue), (s) => (s as unknown as Scheduler).reconcile(queue));

    await waitFor('the handed-over delivery tried again', async () => {
      const cb = (await api('GET', `/jobs/${job.id}`)).body.job.callback;
      return cb?.attempts === 4 ? cb : undefined;
    });
    expect(await leftInScheduler(queue)).toBe(0);
    expect((await parcelsAt(url)).find((r) => r.job_id === job.id)).toMatchObject({ attempts: 4 });
  });

  it('a repeated hand-over of the same delivery is stored once', async () => {
    const url = DEAD(`repeat-${Date.now()}`);
    const parcel: Parcel = {
      job_id: `repeat.${Date.now()}`,
      url,
      event: 'job.succeeded',
      body: '{}',
      attempts: 0,
      next_at: Date.now() + 3_600_000,
    };
    const courier = courierFor(env.COURIER, url) as DurableObjectStub<Courier>;
    expect(await courier.accept([parcel])).toBe(1);
    expect(await courier.accept([parcel])).toBe(0);
    expect((await parcelsAt(url)).filter((r) => r.job_id === parcel.job_id)).toHaveLength(1);
  });
});
