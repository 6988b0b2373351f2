/**
 * W3C Trace Context at the API (issue 16, docs/protocol.md section 1.10), in workerd with the real
 * Durable Object and D1: a submission's traceparent is kept and shown as the job's trace_id, a job
 * without one starts its own trace, a traceparent that does not parse is discarded as the spec says
 * (a new trace, never a 400), and the lease a node takes carries the context on. Every test uses its
 * own queue, so a waiting lease sees only its own jobs.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ScheduleKeeper } from '../../durable-objects/schedules';
import { api, submit, WORKER_TOKEN } from './helpers';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;
const TRACE_ID = /^[0-9a-f]{32}$/;

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

/** The jobs a pull node registered on `queue` is handed: what a dispatch carries to a node. */
async function leaseAll(queue: string, max = 10) {
  const id = fresh('tracer');
  const reg = await api(
    'POST',
    '/workers/register',
    { id, mode: 'pull', capacity: max, executors: ['native'], queues: [queue] },
    auth,
  );
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const res = await api('POST', `/workers/${id}/lease`, { wait_sec: 0, queues: [queue] }, auth);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.jobs as { job_id: string; traceparent?: string; tracestate?: string }[];
}

describe('POST /jobs with W3C trace context', () => {
  it('joins the caller trace: trace_id on the answer, on GET and in lists, and on the lease', async () => {
    const queue = fresh('tp');
    const res = await submit(
      { payload: 'traced', queue },
      { traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.job.trace_id).toBe(TRACE);
    expect((await api('GET', `/jobs/${res.body.job.id}`)).body.job.trace_id).toBe(TRACE);
    const listed = await api('GET', `/jobs?queue=${queue}`);
    expect(listed.body.jobs.map((j: { trace_id: string }) => j.trace_id)).toEqual([TRACE]);

    const [leased] = await leaseAll(queue);
    expect(leased).toMatchObject({
      job_id: res.body.job.id,
      traceparent: TRACEPARENT,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
  });

  it('starts a trace of its own for a job submitted without one, a new one each time', async () => {
    const queue = fresh('own');
    const a = await submit({ payload: 1, queue });
    const b = await submit({ payload: 2, queue });
    expect(a.body.job.trace_id).toMatch(TRACE_ID);
    expect(b.body.job.trace_id).toMatch(TRACE_ID);
    expect(a.body.job.trace_id).not.toBe(b.body.job.trace_id);
    const leased = await leaseAll(queue);
    expect(leased).toHaveLength(2);
    for (const j of leased) {
      const job = j.job_id === a.body.job.id ? a.body.job : b.body.job;
      // Sampled, so the node's parent-based sampler records its spans.
      expect(j.traceparent).toMatch(new RegExp(`^00-${job.trace_id}-[0-9a-f]{16}-01$`));
      expect(j.tracestate).toBeUndefined();
    }
  });

  it.each([
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['garbage', 'not-a-traceparent'],
  ])(
    'discards a traceparent of %s and starts a new trace, dropping tracestate too',
    async (_, tp) => {
      const queue = fresh('bad');
      const res = await submit({ payload: 'x', queue }, { traceparent: tp, tracestate: 'k=v' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.job.trace_id).toMatch(TRACE_ID);
      expect(res.body.job.trace_id).not.toBe(TRACE);
      expect(res.body.job.trace_id).not.toBe('0'.repeat(32));
      const [leased] = await leaseAll(queue);
      expect(leased.traceparent).toMatch(new RegExp(`^00-${res.body.job.trace_id}-`));
      expect(leased.tracestate).toBeUndefined();
    },
  );

  it('reads a higher version for its first fields and passes it on as version 00', async () => {
    const queue = fresh('v');
    const res = await submit(
      { payload: 'x', queue },
      { traceparent: `cc-${TRACE}-${PARENT}-01-x` },
    );
    expect(res.body.job.trace_id).toBe(TRACE);
    expect((await leaseAll(queue))[0].traceparent).toBe(TRACEPARENT);
  });
});

describe('POST /jobs/batch with W3C trace context', () => {
  it('puts every job of the batch in the caller trace', async () => {
    const queue = fresh('batch');
    const res = await api(
      'POST',
      '/jobs/batch',
      {
        jobs: [
          { payload: 1, queue },
          { payload: 2, queue, depends_on: [0] },
        ],
      },
      { traceparent: TRACEPARENT },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.jobs.map((j: { trace_id: string }) => j.trace_id)).toEqual([TRACE, TRACE]);
  });

  it('without one, starts one trace for the whole batch', async () => {
    const queue = fresh('batch-own');
    const res = await api('POST', '/jobs/batch', {
      jobs: [
        { payload: 1, queue },
        { payload: 2, queue },
      ],
    });
    const [a, b] = res.body.jobs.map((j: { trace_id: string }) => j.trace_id);
    expect(a).toMatch(TRACE_ID);
    expect(b).toBe(a);
  });
});

describe('jobs made by the API itself', () => {
  it('a replay joins the replay request trace, or else starts its own', async () => {
    const queue = fresh('replay');
    const original = (await submit({ payload: 'r', queue }, { traceparent: TRACEPARENT })).body.job;
    expect((await api('POST', `/jobs/${original.id}/cancel`)).status).toBe(200);
    const plain = await api('POST', `/jobs/${original.id}/replay`);
    expect(plain.status, JSON.stringify(plain.body)).toBe(201);
    expect(plain.body.job.trace_id).toMatch(TRACE_ID);
    expect(plain.body.job.trace_id).not.toBe(TRACE);
    const other = `00-${'ab'.repeat(16)}-${PARENT}-01`;
    const joined = await api('POST', `/jobs/${original.id}/replay`, undefined, {
      traceparent: other,
    });
    expect(joined.body.job.trace_id).toBe('ab'.repeat(16));
  });

  it('each schedule tick starts a trace of its own', async () => {
    const ns = (env as unknown as { SCHEDULE_KEEPER: DurableObjectNamespace<ScheduleKeeper> })
      .SCHEDULE_KEEPER;
    const keeper = ns.get(ns.idFromName('schedules'));
    const created = await api(
      'POST',
      '/schedules',
      { cron: '0 0 1 1 *', job: { payload: 'tick', queue: fresh('tick') } },
      { traceparent: TRACEPARENT },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const traces: string[] = [];
    for (let i = 0; i < 2; i++) {
      await runInDurableObject(keeper, async (_instance, state) => {
        const at = Date.now() - 1000 - i;
        state.storage.sql.exec(
          "UPDATE schedules SET next_run_at = ?, row = json_set(row, '$.nextRunAt', ?) WHERE id = ?",
          at,
          at,
          created.body.schedule.id,
        );
      });
      expect(await runDurableObjectAlarm(keeper)).toBe(true);
      const s = (await api('GET', `/schedules/${created.body.schedule.id}`)).body.schedule;
      traces.push((await api('GET', `/jobs/${s.last_job_id}`)).body.job.trace_id);
    }
    expect(traces[0]).toMatch(TRACE_ID);
    expect(traces[1]).toMatch(TRACE_ID);
    expect(traces[0]).not.toBe(traces[1]);
    // The request that created the schedule is long over by the time a tick fires.
    expect(traces).not.toContain(TRACE);
  });
});

describe('the OpenAPI document', () => {
  it('documents traceparent and tracestate on the routes that create jobs', async () => {
    const doc = (await api('GET', '/openapi.json')).body;
    for (const [path, method] of [
      ['/jobs', 'post'],
      ['/jobs/batch', 'post'],
      ['/jobs/{id}/replay', 'post'],
      ['/dead-letters/replay', 'post'],
    ]) {
      const names = doc.paths[path][method].parameters
        .filter((p: { in: string }) => p.in === 'header')
        .map((p: { name: string }) => p.name);
      expect(names, `${method} ${path}`).toEqual(
        expect.arrayContaining(['traceparent', 'tracestate']),
      );
    }
    expect(doc.components.schemas.Job.properties.trace_id).toBeTruthy();
    expect(doc.components.schemas.LeasedJob.properties.traceparent).toBeTruthy();
  });
});
