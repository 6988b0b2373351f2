import {
  createExecutionContext,
  createScheduledController,
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ScheduleKeeper } from '../../durable-objects/schedules';
import worker from '../../src/index';
import type { Env } from '../../src/env';
import { api } from './helpers';

const keeperNs = (env as unknown as { SCHEDULE_KEEPER: DurableObjectNamespace<ScheduleKeeper> })
  .SCHEDULE_KEEPER;
const keeper = () => keeperNs.get(keeperNs.idFromName('schedules'));

/** A cron that will not fire during a test run on its own: ticks here are driven by the tests. */
const YEARLY = '0 0 1 1 *';
let seq = 0;
const uniqueQueue = (what: string) => `sch-${what}-${Date.now().toString(36)}-${seq++}`;

/** A small factory of schedule bodies. */
function scheduleBody(overrides: Record<string, unknown> = {}, job: Record<string, unknown> = {}) {
  return { cron: YEARLY, ...overrides, job: { payload: { hello: 'tick' }, ...job } };
}

async function createSchedule(
  overrides: Record<string, unknown> = {},
  job: Record<string, unknown> = {},
) {
  const res = await api('POST', '/schedules', scheduleBody(overrides, job));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.schedule;
}

/**
 * Puts a schedule's stored next tick at `at`, as if that tick were due (or, with an `at` that was
 * already fired, as if the object had lost its bookkeeping after firing it). The alarm is then run
 * with runDurableObjectAlarm, which fires it at once whatever time it was set for.
 */
async function dueAt(id: string, at: number): Promise<void> {
  await runInDurableObject(keeper(), async (_instance, state) => {
    state.storage.sql.exec(
      "UPDATE schedules SET next_run_at = ?, row = json_set(row, '$.nextRunAt', ?) WHERE id = ?",
      at,
      at,
      id,
    );
  });
}

/** The Worker's once-a-minute cron handler, as the platform calls it. */
async function cronTrigger(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: new Date(), cron: '* * * * *' }),
    env as unknown as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

async function fireAlarm(): Promise<void> {
  expect(await runDurableObjectAlarm(keeper())).toBe(true);
}

async function jobsOf(queue: string): Promise<any[]> {
  const res = await api('GET', `/jobs?queue=${queue}&limit=500`);
  expect(res.status).toBe(200);
  return res.body.jobs;
}

const schedule = async (id: string) => (await api('GET', `/schedules/${id}`)).body.schedule;

/** Every structured log line with this event name printed while `fn` ran. */
async function logsOf<T>(event: string, fn: () => Promise<T>): Promise<Record<string, unknown>[]> {
  const spy = vi.spyOn(console, 'log');
  try {
    await fn();
    return spy.mock.calls
      .map((c) => {
        try {
          return JSON.parse(String(c[0])) as Record<string, unknown>;
        } catch {
          return {};
        }
      })
      .filter((l) => l.event === event);
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('POST /schedules', () => {
  it('creates a schedule with defaults and shows it right away', async () => {
    const before = Date.now();
    const res = await api('POST', '/schedules', { cron: '*/5 * * * *', job: { payload: 'hi' } });
    expect(res.status).toBe(201);
    const s = res.body.schedule;
    expect(s).toMatchObject({
      cron: '*/5 * * * *',
      timezone: 'UTC',
      overlap: 'allow',
      status: 'active',
      name: null,
      tenant: 'default',
      last_run_at: null,
      last_job_id: null,
      runs: 0,
      skipped_ticks: 0,
      missed_ticks: 0,
      job: { payload: 'hi', type: 'echo', priority: 1, queue: 'default', max_retries: 3 },
    });
    expect(s.id).toMatch(/^sch_[0-9A-Z]{26}$/);
    const next = Date.parse(s.next_run_at);
    expect(next).toBeGreaterThan(before);
    expect(next % (5 * 60_000)).toBe(0);
    expect(next - before).toBeLessThanOrEqual(5 * 60_000);
    expect((await api('GET', `/schedules/${s.id}`)).body.schedule).toEqual(s);
  });

  it('keeps the time zone, the overlap policy, the name and the job fields it was given', async () => {
    const s = await createSchedule(
      {
        cron: '0 9 * * MON-FRI',
        timezone: 'Europe/Paris',
        overlap: 'forbid',
        name: 'weekday report',
      },
      {
        type: 'primes',
        payload: { limit: 100 },
        priority: 0,
        queue: 'reports',
        timeout_sec: 60,
        max_retries: 1,
        delay_sec: 5,
      },
    );
    expect(s).toMatchObject({
      timezone: 'Europe/Paris',
      overlap: 'forbid',
      name: 'weekday report',
    });
    expect(s.job).toMatchObject({
      type: 'primes',
      payload: { limit: 100 },
      priority: 0,
      queue: 'reports',
      timeout_sec: 60,
      max_retries: 1,
      delay_sec: 5,
    });
    const next = new Date(s.next_run_at);
    // 09:00 in Paris is 07:00 or 08:00 UTC, on a weekday.
    expect([7, 8]).toContain(next.getUTCHours());
    expect(next.getUTCMinutes()).toBe(0);
    expect([1, 2, 3, 4, 5]).toContain(next.getUTCDay());
  });

  it('accepts six fields, seconds first', async () => {
    const s = await createSchedule({ cron: '*/10 * * * * *' });
    expect(Date.parse(s.next_run_at) % 10_000).toBe(0);
    await api('DELETE', `/schedules/${s.id}`);
  });

  it('arms the alarm at the earliest next tick', async () => {
    const s = await createSchedule({ cron: '59 23 31 12 *' });
    const alarm = await runInDurableObject(keeper(), (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.parse(s.next_run_at));
  });
});

describe('validation', () => {
  async function expectRefused(body: unknown, status: number, code: string, field?: string) {
    const res = await api('POST', '/schedules', body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.code).toBe(code);
    if (field) {
      expect(res.body.error.message).toContain(field);
      expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(
        field,
      );
    }
  }
  const job = { payload: 1 };
  const cases: [string, unknown, number, string, string | undefined][] = [
    ['a bad cron expression', { cron: 'every tuesday', job }, 400, 'validation_failed', 'cron'],
    ['a cron field out of range', { cron: '61 * * * *', job }, 400, 'validation_failed', 'cron'],
    ['a cron that never fires', { cron: '0 0 30 2 *', job }, 400, 'validation_failed', 'cron'],
    ['seven cron fields', { cron: '0 0 0 1 1 * 2030', job }, 400, 'validation_failed', 'cron'],
    ['a missing cron', { job }, 400, 'validation_failed', 'cron'],
    [
      'an unknown time zone',
      { cron: YEARLY, timezone: 'Mars/Olympus_Mons', job },
      400,
      'validation_failed',
      'timezone',
    ],
    [
      'a time zone of the wrong type',
      { cron: YEARLY, timezone: 2, job },
      400,
      'validation_failed',
      'timezone',
    ],
    [
      'an unknown overlap policy',
      { cron: YEARLY, overlap: 'replace', job },
      400,
      'validation_failed',
      'overlap',
    ],
    ['a missing job', { cron: YEARLY }, 400, 'validation_failed', 'job'],
    [
      'a job without payload',
      { cron: YEARLY, job: { type: 'echo' } },
      400,
      'validation_failed',
      'job.payload',
    ],
    [
      'a job priority out of range',
      { cron: YEARLY, job: { payload: 1, priority: 7 } },
      400,
      'validation_failed',
      'job.priority',
    ],
    [
      'an unknown job field',
      { cron: YEARLY, job: { payload: 1, colour: 'red' } },
      400,
      'validation_failed',
      'job.colour',
    ],
    [
      'a bad job queue',
      { cron: YEARLY, job: { payload: 1, queue: 'Has Spaces' } },
      400,
      'validation_failed',
      'job.queue',
    ],
    [
      'a job with run_at',
      { cron: YEARLY, job: { payload: 1, run_at: '2030-01-01T00:00:00Z' } },
      400,
      'validation_failed',
      'job.run_at',
    ],
    [
      'an unknown top-level field',
      { cron: YEARLY, job, every: 'day' },
      400,
      'validation_failed',
      'every',
    ],
    ['an empty name', { cron: YEARLY, job, name: '' }, 400, 'validation_failed', 'name'],
    [
      'a job payload over 64 KiB',
      { cron: YEARLY, job: { payload: 'x'.repeat(64 * 1024) } },
      413,
      'payload_too_large',
      'job.payload',
    ],
  ];
  for (const [what, body, status, code, field] of cases) {
    it(`refuses ${what}`, async () => expectRefused(body, status, code, field));
  }

  it('refuses malformed JSON, and a body that is not JSON', async () => {
    const bad = await api('POST', '/schedules', '{"cron": "* * * * *",');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    const form = await api('POST', '/schedules', 'cron=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
  });

  it('refuses a body far over the limit before parsing it', async () => {
    const res = await api(
      'POST',
      '/schedules',
      JSON.stringify({ cron: YEARLY, job: { payload: 'y'.repeat(300 * 1024) } }),
    );
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('body_too_large');
  });

  it('refuses a malformed id with 400 and an unknown one with 404, on every route', async () => {
    for (const [method, path] of [
      ['GET', ''],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['DELETE', ''],
    ] as const) {
      const bad = await api(method, `/schedules/nope${path}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(
        'id',
      );
      const unknown = await api(method, `/schedules/sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q${path}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('schedule_not_found');
    }
  });

  it('refuses a bad list query naming the parameter', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['offset=-1', 'offset'],
      ['status=gone', 'status'],
      ['colour=red', 'colour'],
    ]) {
      const res = await api('GET', `/schedules?${q}`);
      expect(res.status).toBe(400);
      expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(
        field,
      );
    }
  });
});

describe('GET /schedules', () => {
  it("lists newest first with limit and offset, filters by status, and shows only the tenant's own", async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createSchedule({ name: `page-${i}` }));
    await api('POST', `/schedules/${made[1].id}/pause`);
    // Another tenant's schedule, created through the keeper as the API would for that tenant.
    const other = await keeper().create({
      id: 'sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Z',
      tenant: 'someone-else',
      name: null,
      cron: YEARLY,
      timezone: 'UTC',
      job: { payload: 1, type: 'echo', priority: 1, max_retries: 3, queue: 'default' },
      overlap: 'allow',
    });
    expect(other.ok).toBe(true);

    const all = await api('GET', '/schedules?limit=500');
    expect(all.status).toBe(200);
    const ids = all.body.schedules.map((s: { id: string }) => s.id);
    expect(ids).not.toContain('sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Z');
    expect(all.body.total).toBe(ids.length);
    expect(all.body.schedules.every((s: { tenant: string }) => s.tenant === 'default')).toBe(true);

    const page = await api('GET', '/schedules?limit=2&offset=0');
    expect(page.body).toMatchObject({ limit: 2, offset: 0, total: all.body.total });
    expect(page.body.schedules.map((s: { id: string }) => s.id)).toEqual([made[2].id, made[1].id]);
    const next = await api('GET', '/schedules?limit=2&offset=2');
    expect(next.body.schedules[0].id).toBe(made[0].id);

    const paused = await api('GET', '/schedules?status=paused&limit=500');
    expect(paused.body.schedules.map((s: { id: string }) => s.id)).toContain(made[1].id);
    expect(paused.body.schedules.every((s: { status: string }) => s.status === 'paused')).toBe(
      true,
    );

    expect((await api('GET', '/schedules/sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Z')).status).toBe(404);
    expect((await api('POST', '/schedules/sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Z/pause')).status).toBe(404);
    expect((await api('DELETE', '/schedules/sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Z')).status).toBe(404);
  });
});

describe('pause, resume, delete', () => {
  it('a paused schedule does not fire; resume starts from the next tick after now', async () => {
    const queue = uniqueQueue('pause');
    const s = await createSchedule({}, { queue });
    const paused = await api('POST', `/schedules/${s.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.schedule).toMatchObject({ status: 'paused', next_run_at: null });
    // Pausing again changes nothing.
    expect((await api('POST', `/schedules/${s.id}/pause`)).body.schedule).toEqual(
      paused.body.schedule,
    );

    // Even with a next tick in the past, a paused schedule is not due.
    await dueAt(s.id, Date.now() - 1_000);
    await keeper().tick();
    expect(await jobsOf(queue)).toEqual([]);
    expect((await schedule(s.id)).runs).toBe(0);

    const before = Date.now();
    const resumed = await api('POST', `/schedules/${s.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.schedule.status).toBe('active');
    expect(Date.parse(resumed.body.schedule.next_run_at)).toBeGreaterThan(before);
    expect((await api('POST', `/schedules/${s.id}/resume`)).body.schedule).toEqual(
      resumed.body.schedule,
    );
  });

  it('delete removes the schedule and stops it; its jobs stay', async () => {
    const queue = uniqueQueue('delete');
    const s = await createSchedule({}, { queue });
    await dueAt(s.id, Date.now() - 1_000);
    await fireAlarm();
    expect(await jobsOf(queue)).toHaveLength(1);

    const del = await api('DELETE', `/schedules/${s.id}`);
    expect(del.status).toBe(200);
    expect(del.body.schedule.id).toBe(s.id);
    expect((await api('GET', `/schedules/${s.id}`)).status).toBe(404);
    expect((await api('DELETE', `/schedules/${s.id}`)).status).toBe(404);
    expect((await api('POST', `/schedules/${s.id}/resume`)).status).toBe(404);

    await keeper().tick();
    expect(await jobsOf(queue)).toHaveLength(1);
  });
});

describe('ticks', () => {
  it("fires three ticks: one job each, with the schedule's job fields and tenant", async () => {
    const queue = uniqueQueue('three');
    const s = await createSchedule(
      {},
      { type: 'fib', payload: { n: 10 }, priority: 0, queue, max_retries: 1, timeout_sec: 30 },
    );
    const now = Date.now();
    const fired: string[] = [];
    for (const ago of [3_000, 2_000, 1_000]) {
      await dueAt(s.id, now - ago);
      await fireAlarm();
      const after = await schedule(s.id);
      expect(after.last_run_at).toBe(new Date(now - ago).toISOString());
      fired.push(after.last_job_id);
      // After a tick the next one is in the future again: the yearly tick.
      expect(Date.parse(after.next_run_at)).toBeGreaterThan(Date.now());
    }
    const jobs = await jobsOf(queue);
    expect(jobs.map((j) => j.id).sort()).toEqual([...fired].sort());
    expect(new Set(fired).size).toBe(3);
    for (const j of jobs) {
      expect(j).toMatchObject({
        type: 'fib',
        payload: { n: 10 },
        priority: 0,
        queue,
        max_retries: 1,
        timeout_sec: 30,
        tenant: 'default',
        status: 'queued',
      });
    }
    expect((await schedule(s.id)).runs).toBe(3);
  });

  it('a tick fired twice creates one job: an alarm delivered again after its bookkeeping was lost', async () => {
    const queue = uniqueQueue('twice');
    const s = await createSchedule({}, { queue });
    const tick = Date.now() - 5_000;
    await dueAt(s.id, tick);
    await fireAlarm();
    const first = await schedule(s.id);
    expect(await jobsOf(queue)).toHaveLength(1);

    // The same tick again, as if the object had crashed after submitting but before recording it.
    await dueAt(s.id, tick);
    const replays = await logsOf('schedule_tick_replayed', fireAlarm);
    expect(replays).toHaveLength(1);
    expect(replays[0]).toMatchObject({ schedule_id: s.id, job_id: first.last_job_id });
    const jobs = await jobsOf(queue);
    expect(jobs.map((j) => j.id)).toEqual([first.last_job_id]);
    expect((await schedule(s.id)).runs).toBe(1);
  });

  it('the alarm racing the cron backstop and a second tick creates one job', async () => {
    const queue = uniqueQueue('race');
    const s = await createSchedule({}, { queue });
    await dueAt(s.id, Date.now() - 2_000);
    const stub = keeper();
    const [a, b] = await Promise.all([stub.tick(), stub.tick(), runDurableObjectAlarm(stub)]);
    expect(a.fired + b.fired).toBeLessThanOrEqual(1);
    expect(await jobsOf(queue)).toHaveLength(1);
    expect((await schedule(s.id)).runs).toBe(1);
  });

  it('a submit that failed before the job was stored is retried under the same job id', async () => {
    const queue = uniqueQueue('claimed');
    const s = await createSchedule({}, { queue });
    const tick = Date.now() - 3_000;
    // A previous run claimed this tick, then died before the scheduler stored the job.
    const orphanId = `${queue}.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q`;
    await env.DB.prepare(
      'INSERT INTO idempotency_keys (tenant, key, job_ids, request_hash, expires_at) VALUES (?, ?, ?, ?, ?)',
    )
      .bind(
        'default',
        `schedule ${s.id} ${tick}`,
        JSON.stringify([orphanId]),
        'schedule-tick',
        Date.now() + 60_000,
      )
      .run();
    await dueAt(s.id, tick);
    await fireAlarm();
    expect((await jobsOf(queue)).map((j) => j.id)).toEqual([orphanId]);
    expect((await schedule(s.id)).last_job_id).toBe(orphanId);
  });

  it('overlap=forbid skips a tick while the previous job is not terminal, and fires again once it is', async () => {
    const queue = uniqueQueue('forbid');
    const s = await createSchedule({ overlap: 'forbid' }, { queue });
    const now = Date.now();
    await dueAt(s.id, now - 3_000);
    await fireAlarm();
    const first = (await schedule(s.id)).last_job_id;
    expect((await api('GET', `/jobs/${first}`)).body.job.status).toBe('queued');

    await dueAt(s.id, now - 2_000);
    const skips = await logsOf('schedule_tick_skipped', fireAlarm);
    expect(skips).toEqual([
      expect.objectContaining({
        schedule_id: s.id,
        previous_job_id: first,
        previous_status: 'queued',
        reason: 'overlap_forbid',
      }),
    ]);
    let after = await schedule(s.id);
    expect(after).toMatchObject({ skipped_ticks: 1, runs: 1, last_job_id: first });
    expect(Date.parse(after.next_run_at)).toBeGreaterThan(Date.now());
    expect(await jobsOf(queue)).toHaveLength(1);

    expect((await api('POST', `/jobs/${first}/cancel`)).status).toBe(200);
    await dueAt(s.id, now - 1_000);
    await fireAlarm();
    after = await schedule(s.id);
    expect(after).toMatchObject({ skipped_ticks: 1, runs: 2 });
    expect(after.last_job_id).not.toBe(first);
    expect(await jobsOf(queue)).toHaveLength(2);
  });

  it('overlap=allow fires while the previous job is still queued', async () => {
    const queue = uniqueQueue('allow');
    const s = await createSchedule({ overlap: 'allow' }, { queue });
    await dueAt(s.id, Date.now() - 2_000);
    await fireAlarm();
    await dueAt(s.id, Date.now() - 1_000);
    await fireAlarm();
    expect(await jobsOf(queue)).toHaveLength(2);
    expect((await schedule(s.id)).skipped_ticks).toBe(0);
  });

  it('a missed window fires one catch-up job for the latest tick, then continues from the next future tick', async () => {
    const queue = uniqueQueue('missed');
    const s = await createSchedule({ cron: '* * * * *' }, { queue });
    const now = Date.now();
    await dueAt(s.id, now - 5 * 60_000 - 30_000); // down for five and a half minutes
    const missed = await logsOf('schedule_ticks_missed', fireAlarm);
    expect(missed).toHaveLength(1);
    expect(await jobsOf(queue)).toHaveLength(1);
    const after = await schedule(s.id);
    const lastRun = Date.parse(after.last_run_at);
    expect(lastRun % 60_000).toBe(0);
    expect(lastRun).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - lastRun).toBeLessThan(60_000 + 5_000);
    expect(after.missed_ticks).toBeGreaterThanOrEqual(4);
    expect(Date.parse(after.next_run_at)).toBe(lastRun + 60_000);
    await api('DELETE', `/schedules/${s.id}`);
  });

  it('survives a restart: the timer and the schedules are in storage', async () => {
    const queue = uniqueQueue('restart');
    const s = await createSchedule({}, { queue });
    await dueAt(s.id, Date.now() - 1_000);
    await evictDurableObject(keeper());
    await fireAlarm();
    expect(await jobsOf(queue)).toHaveLength(1);
    expect((await schedule(s.id)).runs).toBe(1);
  });

  it('the cron trigger is a backstop: it fires a due schedule whose alarm was lost, once', async () => {
    const queue = uniqueQueue('backstop');
    const s = await createSchedule({}, { queue });
    await dueAt(s.id, Date.now() - 1_000);
    await runInDurableObject(keeper(), (_i, state) => state.storage.deleteAlarm());
    await cronTrigger();
    expect(await jobsOf(queue)).toHaveLength(1);
    // The backstop re-armed the alarm; the same tick does not fire again.
    expect(
      await runInDurableObject(keeper(), (_i, state) => state.storage.getAlarm()),
    ).not.toBeNull();
    await cronTrigger();
    expect(await jobsOf(queue)).toHaveLength(1);
  });

  it('fires on its own: an every-second schedule submits jobs through the real alarm', async () => {
    const queue = uniqueQueue('live');
    const s = await createSchedule({ cron: '* * * * * *' }, { queue });
    const deadline = Date.now() + 15_000;
    let jobs: any[] = [];
    while (Date.now() < deadline) {
      jobs = await jobsOf(queue);
      if (jobs.length >= 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await api('DELETE', `/schedules/${s.id}`);
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    // One job per tick: distinct ticks, no duplicates.
    expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
  });
});

describe('OpenAPI', () => {
  it('documents every schedule route', async () => {
    const doc = (await api('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/schedules',
        '/schedules/{id}',
        '/schedules/{id}/pause',
        '/schedules/{id}/resume',
      ]),
    );
    expect(Object.keys(doc.paths['/schedules'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(doc.paths['/schedules/{id}'])).toEqual(
      expect.arrayContaining(['get', 'delete']),
    );
    expect(doc.components.schemas.Schedule).toBeDefined();
    expect(doc.components.schemas.ScheduleCreate).toBeDefined();
  });
});
