import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { callWithVars } from './helpers';
import type { ScheduleKeeper } from '../../durable-objects/schedules';
import { queueOfJobId } from '../../src/core/ids';
import type { Env } from '../../src/env';

/**
 * Every path that creates jobs draws one token per job from the tenant's RATE_LIMIT_JOBS_PER_MIN
 * bucket: replays, bulk replays and schedule ticks as well as submissions. The suite runs with the
 * limit off; these requests set it the way a deployment would (createApp().fetch with vars).
 */
const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

const call = (
  limit: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => callWithVars({ RATE_LIMIT_JOBS_PER_MIN: String(limit) }, method, path, body, headers);

let seq = 0;
const unique = (what: string) => `${what}-${Date.now().toString(36)}-${seq++}`;

async function tenantKey(tenant: string): Promise<Record<string, string>> {
  const res = await call(0, 'POST', '/admin/keys', { tenant, name: 'limits' }, ADMIN);
  expect(res.status).toBe(201);
  return { authorization: `Bearer ${res.body.key}` };
}

/** Finished jobs to replay, made with the limit off so they cost nothing: submitted, then cancelled. */
async function finishedJobs(key: Record<string, string>, n: number): Promise<string[]> {
  const queue = unique('replay');
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const job = await call(0, 'POST', '/jobs', { payload: i, queue }, key);
    expect(job.status).toBe(201);
    expect((await call(0, 'POST', `/jobs/${job.body.job.id}/cancel`, undefined, key)).status).toBe(
      200,
    );
    ids.push(job.body.job.id);
  }
  return ids;
}

describe('replays draw from the tenant bucket', () => {
  it('POST /jobs/:id/replay: 429 once the tenant has spent its jobs, another tenant unaffected', async () => {
    const a = await tenantKey(unique('ta'));
    const bTenant = unique('tb');
    const b = await tenantKey(bTenant);
    const [aJob] = await finishedJobs(a, 1);
    const bJobs = await finishedJobs(b, 4);
    for (const id of bJobs.slice(0, 3))
      expect((await call(3, 'POST', `/jobs/${id}/replay`, undefined, b)).status).toBe(201);
    const over = await call(3, 'POST', `/jobs/${bJobs[3]}/replay`, undefined, b);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('rate_limited');
    // Every key of a tenant shares its bucket; another tenant has its own.
    const b2 = await tenantKey(bTenant);
    expect((await call(3, 'POST', `/jobs/${bJobs[3]}/replay`, undefined, b2)).status).toBe(429);
    expect((await call(3, 'POST', '/jobs', { payload: 1 }, b2)).status).toBe(429);
    expect((await call(3, 'POST', `/jobs/${aJob}/replay`, undefined, a)).status).toBe(201);
  });

  it('POST /dead-letters/replay costs one per job, all or nothing', async () => {
    const b = await tenantKey(unique('tb'));
    const ids = await finishedJobs(b, 4);
    const four = await call(3, 'POST', '/dead-letters/replay', { ids }, b);
    expect(four.status).toBe(429);
    expect(four.body.error.details).toMatchObject({ cost: 4, limit_per_min: 3 });
    expect(
      (await call(3, 'POST', '/dead-letters/replay', { ids: ids.slice(0, 2) }, b)).status,
    ).toBe(201);
    const two = await call(3, 'POST', '/dead-letters/replay', { ids: ids.slice(2) }, b);
    expect(two.status).toBe(429);
    expect(two.body.error.details.cost).toBe(2);
    // The refused replays created nothing: only the two replayed jobs link back.
    const list = await call(
      0,
      'GET',
      `/jobs?queue=${encodeURIComponent(queueOfJobId(ids[0]))}`,
      undefined,
      b,
    );
    expect(list.body.total).toBe(6);
  });
});

const keeperNs = (env as unknown as { SCHEDULE_KEEPER: DurableObjectNamespace<ScheduleKeeper> })
  .SCHEDULE_KEEPER;
const keeper = () => keeperNs.get(keeperNs.idFromName('schedules'));

describe('schedule ticks draw from the tenant bucket', () => {
  it('records a tick that finds the bucket empty as skipped (rate_limited), and queues nothing', async () => {
    const key = await tenantKey(unique('ts'));
    const queue = unique('sched');
    const created = await call(
      0,
      'POST',
      '/schedules',
      { cron: '0 0 1 1 *', job: { payload: 'tick', queue } },
      key,
    );
    expect(created.status).toBe(201);
    const id = created.body.schedule.id;
    // The tenant spends its one job of the minute through the API.
    expect((await call(1, 'POST', '/jobs', { payload: 'mine' }, key)).status).toBe(201);

    const tick = Date.now() - 1000;
    await runInDurableObject(keeper(), async (instance, state) => {
      state.storage.sql.exec(
        "UPDATE schedules SET next_run_at = ?, row = json_set(row, '$.nextRunAt', ?) WHERE id = ?",
        tick,
        tick,
        id,
      );
      // The keeper reads its limit from its own bindings: give it the deployment's for this tick.
      const self = instance as unknown as { env: Env };
      const saved = self.env;
      self.env = { ...saved, RATE_LIMIT_JOBS_PER_MIN: '1' } as Env;
      try {
        expect(await (instance as unknown as ScheduleKeeper).tick()).toMatchObject({
          due: 1,
          fired: 0,
          skipped: 1,
        });
      } finally {
        self.env = saved;
      }
    });

    const after = (await call(0, 'GET', `/schedules/${id}`, undefined, key)).body.schedule;
    expect(after).toMatchObject({
      runs: 0,
      skipped_ticks: 1,
      last_skip_reason: 'rate_limited',
      last_skipped_at: new Date(tick).toISOString(),
      last_job_id: null,
    });
    expect(Date.parse(after.next_run_at)).toBeGreaterThan(Date.now());
    expect((await call(0, 'GET', `/jobs?queue=${queue}`, undefined, key)).body.total).toBe(0);
  });
});
