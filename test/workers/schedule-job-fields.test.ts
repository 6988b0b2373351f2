import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ScheduleKeeper } from '../../durable-objects/schedules';
import { api, submit } from './helpers';

// Issue 12 item 3: a schedule stored callback_url, but the jobs it made had none. A scheduled job must
// carry every field its schedule was given: the same job as POST /jobs makes of the same body.

const keeperNs = (env as unknown as { SCHEDULE_KEEPER: DurableObjectNamespace<ScheduleKeeper> })
  .SCHEDULE_KEEPER;
const keeper = () => keeperNs.get(keeperNs.idFromName('schedules'));
const YEARLY = '0 0 1 1 *';

/** Every field a scheduled job may carry (run_at, depends_on and payload_blob are refused there). */
const everyField = (queue: string) => ({
  type: 'fib',
  payload: { n: 12, nested: ['a', 1, null] },
  priority: 0,
  max_retries: 7,
  timeout_sec: 42,
  queue,
  executor: 'wasm',
  delay_sec: 3600,
  concurrency_key: 'tenant-a',
  concurrency_limit: 3,
  requires: ['gpu', 'region=eu'],
  backoff: { type: 'fixed', base_sec: 2.5, max_sec: 30, jitter: true },
  callback_url: 'http://127.0.0.1:9/done',
  failure_callback_url: 'http://127.0.0.1:9/failed',
});

/** What differs between any two jobs however they were made (each tick starts its own trace). */
const OWN = ['id', 'created_at', 'updated_at', 'next_attempt_at', 'trace_id'] as const;
const comparable = (job: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(job).filter(([k]) => !(OWN as readonly string[]).includes(k)));

async function fireNow(scheduleId: string): Promise<string> {
  await runInDurableObject(keeper(), async (_instance, state) => {
    const at = Date.now() - 1000;
    state.storage.sql.exec(
      "UPDATE schedules SET next_run_at = ?, row = json_set(row, '$.nextRunAt', ?) WHERE id = ?",
      at,
      at,
      scheduleId,
    );
  });
  expect(await runDurableObjectAlarm(keeper())).toBe(true);
  const s = await api('GET', `/schedules/${scheduleId}`);
  expect(s.body.schedule.last_job_id).toBeTruthy();
  return s.body.schedule.last_job_id as string;
}

describe('a scheduled job', () => {
  it('carries every job field of its schedule, as POST /jobs makes it from the same body', async () => {
    const queue = `sch-fields-${Date.now().toString(36)}`;
    const direct = await submit(everyField(queue));
    expect(direct.status, JSON.stringify(direct.body)).toBe(201);

    const created = await api('POST', '/schedules', { cron: YEARLY, job: everyField(queue) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const jobId = await fireNow(created.body.schedule.id);
    const scheduled = (await api('GET', `/jobs/${jobId}`)).body.job;

    // Field by field, so a failure names the field that was dropped.
    const want = comparable(direct.body.job);
    const got = comparable(scheduled);
    for (const field of Object.keys(want)) expect(got[field], field).toEqual(want[field]);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    // And not merely equal to each other: both hold what was given.
    expect(scheduled).toMatchObject({
      callback_url: 'http://127.0.0.1:9/done',
      failure_callback_url: 'http://127.0.0.1:9/failed',
      executor: 'wasm',
      requires: ['gpu', 'region=eu'],
      backoff: { type: 'fixed', base_sec: 2.5, max_sec: 30, jitter: true },
      status: 'scheduled',
    });
  });

  it('a schedule with a callback_url the URL rules refuse is refused when created, naming the field', async () => {
    const res = await api('POST', '/schedules', {
      cron: YEARLY,
      job: { payload: 1, callback_url: 'ftp://example.com/x' },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('job.callback_url');
  });
});
