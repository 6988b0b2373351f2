import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, callWithVars, fireCron, WORKER_TOKEN, waitFor } from './helpers';

/**
 * The queue registry with two tenants (issue 15, docs/protocol.md "Queues and tenants"): a queue
 * belongs to the tenant that created it, a tenant has at most MAX_QUEUES_PER_TENANT active queues on
 * every path that creates one, the fan-out reaches active queues only, and an idle queue retires
 * and comes back when named.
 */
const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
const NODE = { authorization: `Bearer ${WORKER_TOKEN}` };
let seq = 0;
const unique = (what: string) => `${what}-${Date.now().toString(36)}-${seq++}`;

async function tenantKey(tenant = unique('t')): Promise<Record<string, string>> {
  const res = await api('POST', '/admin/keys', { tenant, name: 'registry' }, ADMIN);
  expect(res.status).toBe(201);
  return { 'x-api-key': res.body.key };
}

const schedule = (queue: string) => ({ cron: '0 0 1 1 *', job: { payload: 1, queue } });

function expectRefusal(
  res: { status: number; body: any },
  status: number,
  code: string,
  field: string,
) {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.details.problems[0].field).toBe(field);
  expect(res.body.error.message).toContain(`${field}: `);
}

const registryRow = (queue: string) =>
  env.DB.prepare('SELECT tenant, retired_at, last_active_at FROM queues WHERE name = ?')
    .bind(queue)
    .first<{ tenant: string | null; retired_at: number | null; last_active_at: number }>();

/** The cron with retirement after one idle second; finished outcomes are kept that long too. */
const RETIRE_FAST = { QUEUE_IDLE_RETIRE_SEC: '1', IDEMPOTENCY_TTL_SEC: '1' };

async function retireNow(queue: string, vars: Record<string, string> = RETIRE_FAST): Promise<void> {
  await waitFor(`${queue} to retire`, async () => {
    await fireCron(vars);
    return (await registryRow(queue))?.retired_at ? true : undefined;
  });
}

async function cancelledJobIn(queue: string, key: Record<string, string>): Promise<string> {
  const job = await api('POST', '/jobs', { payload: 1, queue }, key);
  expect(job.status).toBe(201);
  expect((await api('POST', `/jobs/${job.body.job.id}/cancel`, undefined, key)).status).toBe(200);
  return job.body.job.id;
}

describe('a queue belongs to the tenant that created it', () => {
  it('refuses another tenant on submit, batch and schedules with 403 naming the field', async () => {
    const aTenant = unique('owner');
    const a = await tenantKey(aTenant);
    const b = await tenantKey();
    const queue = unique('owned');
    expect((await api('POST', '/jobs', { payload: 1, queue }, a)).status).toBe(201);
    expect((await registryRow(queue))?.tenant).toBe(aTenant);

    const one = await api('POST', '/jobs', { payload: 2, queue }, b);
    expectRefusal(one, 403, 'queue_owned_by_other_tenant', 'queue');
    const batch = await api('POST', '/jobs/batch', { jobs: [{ payload: 3, queue }] }, b);
    expectRefusal(batch, 403, 'queue_owned_by_other_tenant', 'jobs.0.queue');
    const sched = await api('POST', '/schedules', schedule(queue), b);
    expectRefusal(sched, 403, 'queue_owned_by_other_tenant', 'job.queue');

    // The owner goes on using it; nothing of b's reached it.
    expect((await api('POST', '/jobs/batch', { jobs: [{ payload: 4, queue }] }, a)).status).toBe(
      201,
    );
    expect((await api('POST', '/schedules', schedule(queue), a)).status).toBe(201);
    expect((await api('GET', `/queues/${queue}`, undefined, ADMIN)).body.depth).toBe(2);
  });

  it('leaves default, queues a node or the operator created, and the quick start shared', async () => {
    const a = await tenantKey();
    const b = await tenantKey();
    const byNode = unique('node-made');
    const byAdmin = unique('admin-made');
    const anonymous = unique('anon-made');
    expect(
      (
        await api(
          'POST',
          '/workers/register',
          { id: unique('n'), mode: 'pull', queues: [byNode] },
          NODE,
        )
      ).status,
    ).toBe(201);
    expect((await api('POST', '/jobs', { payload: 1, queue: byAdmin }, ADMIN)).status).toBe(201);
    // No key at all (ALLOW_ANONYMOUS, the quick start): as before, any name works.
    expect((await api('POST', '/jobs', { payload: 1, queue: anonymous })).status).toBe(201);
    for (const queue of ['default', byNode, byAdmin, anonymous])
      for (const key of [a, b])
        expect((await api('POST', '/jobs', { payload: 1, queue }, key)).status).toBe(201);
    for (const queue of [byNode, byAdmin, anonymous])
      expect((await registryRow(queue))?.tenant).toBeNull();
    // The operator may still put jobs in a tenant's queue.
    const owned = unique('owned');
    expect((await api('POST', '/jobs', { payload: 1, queue: owned }, a)).status).toBe(201);
    expect((await api('POST', '/jobs', { payload: 1, queue: owned }, ADMIN)).status).toBe(201);
  });
});

describe('MAX_QUEUES_PER_TENANT', () => {
  const limited = (method: string, path: string, body: unknown, key: Record<string, string>) =>
    callWithVars({ MAX_QUEUES_PER_TENANT: '2' }, method, path, body, key);

  it('refuses a third queue with 409 on submit, batch and schedules; the other tenant is unaffected', async () => {
    const a = await tenantKey();
    const b = await tenantKey();
    const [q1, q2] = [unique('lim'), unique('lim')];
    expect((await limited('POST', '/jobs', { payload: 1, queue: q1 }, a)).status).toBe(201);
    expect((await limited('POST', '/schedules', schedule(q2), a)).status).toBe(201);

    const q3 = unique('lim');
    expectRefusal(
      await limited('POST', '/jobs', { payload: 1, queue: q3 }, a),
      409,
      'queue_limit_reached',
      'queue',
    );
    expectRefusal(
      await limited('POST', '/jobs/batch', { jobs: [{ payload: 1, queue: q3 }] }, a),
      409,
      'queue_limit_reached',
      'jobs.0.queue',
    );
    const sched = await limited('POST', '/schedules', schedule(q3), a);
    expectRefusal(sched, 409, 'queue_limit_reached', 'job.queue');
    expect(sched.body.error.details.limit).toBe(2);
    expect(await registryRow(q3)).toBeNull();

    // Its own queues and shared ones still take jobs; another tenant has its own count.
    for (const queue of [q1, q2, 'default'])
      expect((await limited('POST', '/jobs', { payload: 1, queue }, a)).status).toBe(201);
    expect((await limited('POST', '/jobs', { payload: 1, queue: q3 }, b)).status).toBe(201);
  });

  it('counts only active queues: a retired one frees a place, and bringing it back by replay takes one', async () => {
    const a = await tenantKey();
    const old = unique('lim-old');
    const jobId = await cancelledJobIn(old, a);
    const bulkId = await cancelledJobIn(old, a);
    await retireNow(old);

    const fresh = unique('lim-new');
    const one = (method: string, path: string, body?: unknown) =>
      callWithVars({ MAX_QUEUES_PER_TENANT: '1' }, method, path, body, a);
    expect((await one('POST', '/jobs', { payload: 1, queue: fresh })).status).toBe(201);
    // The replays would bring `old` back as a second active queue.
    expectRefusal(
      await one('POST', `/jobs/${jobId}/replay`),
      409,
      'queue_limit_reached',
      'jobs.0.queue',
    );
    const bulk = await one('POST', '/dead-letters/replay', { ids: [bulkId] });
    expectRefusal(bulk, 409, 'queue_limit_reached', 'jobs.0.queue');
    expect((await registryRow(old))?.retired_at).not.toBeNull();
    // With room for it, the replay brings the queue back, still the tenant's own.
    const replayed = await callWithVars({}, 'POST', `/jobs/${jobId}/replay`, undefined, a);
    expect(replayed.status).toBe(201);
    expect(await registryRow(old)).toMatchObject({ retired_at: null });
  });
  it('resuming a paused schedule whose queue retired takes a place again', async () => {
    const a = await tenantKey();
    const queue = unique('sched-paused');
    const one = (method: string, path: string, body?: unknown) =>
      callWithVars({ MAX_QUEUES_PER_TENANT: '1' }, method, path, body, a);
    const created = await one('POST', '/schedules', schedule(queue));
    expect(created.status).toBe(201);
    const id = created.body.schedule.id;
    expect((await one('POST', `/schedules/${id}/pause`)).status).toBe(200);
    // Paused, it submits nothing: its queue may retire.
    await retireNow(queue);
    expect((await one('POST', '/jobs', { payload: 1, queue: unique('lim-other') })).status).toBe(
      201,
    );
    expectRefusal(
      await one('POST', `/schedules/${id}/resume`),
      409,
      'queue_limit_reached',
      'job.queue',
    );
    expect((await api('GET', `/schedules/${id}`, undefined, a)).body.schedule.status).toBe(
      'paused',
    );
    expect((await callWithVars({}, 'POST', `/schedules/${id}/resume`, undefined, a)).status).toBe(
      200,
    );
    expect(await registryRow(queue)).toMatchObject({ retired_at: null });
  });
});

describe('retirement and the fan-out', () => {
  it('leaves a retired queue out of /stats and /metrics, and brings it back when named', async () => {
    const a = await tenantKey();
    const queue = unique('idle');
    await cancelledJobIn(queue, a);
    expect((await api('GET', '/stats', undefined, ADMIN)).body.queues).toContain(queue);
    await retireNow(queue);

    expect((await api('GET', '/stats', undefined, ADMIN)).body.queues).not.toContain(queue);
    expect((await api('GET', '/metrics', undefined, ADMIN)).body).not.toContain(`"${queue}"`);
    // Still the tenant's own while retired: another tenant cannot take the name.
    const b = await tenantKey();
    expect((await api('POST', '/jobs', { payload: 1, queue }, b)).status).toBe(403);

    expect((await api('POST', '/jobs', { payload: 1, queue }, a)).status).toBe(201);
    expect((await api('GET', '/stats', undefined, ADMIN)).body.queues).toContain(queue);
    expect(await registryRow(queue)).toMatchObject({ retired_at: null });
  });

  it('keeps queues with jobs, nodes or an active schedule; a node brings a retired queue back', async () => {
    const a = await tenantKey();
    const [withJob, withNode, withSchedule, idle] = [
      'busy-job',
      'busy-node',
      'busy-sched',
      'idle',
    ].map(unique);
    expect((await api('POST', '/jobs', { payload: 1, queue: withJob }, a)).status).toBe(201);
    const nodeId = unique('node');
    expect(
      (
        await api(
          'POST',
          '/workers/register',
          { id: nodeId, mode: 'pull', queues: [withNode] },
          NODE,
        )
      ).status,
    ).toBe(201);
    expect((await api('POST', '/schedules', schedule(withSchedule), a)).status).toBe(201);
    await cancelledJobIn(idle, a);
    await retireNow(idle);
    for (const queue of [withJob, withNode, withSchedule])
      expect(await registryRow(queue)).toMatchObject({ retired_at: null });

    // A node registering for a retired queue brings it back into the fan-out.
    const node2 = unique('node');
    expect(
      (await api('POST', '/workers/register', { id: node2, mode: 'pull', queues: [idle] }, NODE))
        .status,
    ).toBe(201);
    expect(await registryRow(idle)).toMatchObject({ retired_at: null });
    const workers = (await api('GET', '/workers', undefined, ADMIN)).body.workers;
    expect(workers.map((w: { id: string }) => w.id)).toEqual(
      expect.arrayContaining([nodeId, node2]),
    );
  });

  it('keeps the storage of a retired queue while an idempotent retry may still ask for its jobs', async () => {
    const a = await tenantKey();
    const queue = unique('kept');
    const key = { ...a, 'x-idempotency-key': unique('k') };
    const first = await api('POST', '/jobs', { payload: 1, queue }, key);
    expect(first.status).toBe(201);
    expect((await api('POST', `/jobs/${first.body.job.id}/cancel`, undefined, a)).status).toBe(200);
    // Idle for a second, but the job finished within IDEMPOTENCY_TTL_SEC (a day here).
    await retireNow(queue, { QUEUE_IDLE_RETIRE_SEC: '1' });
    const stub = env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
    await runInDurableObject(stub, async (_o, state) => {
      const kept = state.storage.sql
        .exec<{ n: number }>('SELECT count(*) AS n FROM outcomes WHERE id = ?', first.body.job.id)
        .one().n;
      expect(kept).toBe(1);
    });
    const retry = await api('POST', '/jobs', { payload: 1, queue }, key);
    expect(retry.status).toBe(200);
    expect(retry.body.job).toMatchObject({ id: first.body.job.id, status: 'cancelled' });
  });

  it("clears an empty queue's Scheduler storage and alarm, and the queue works again after", async () => {
    const queue = unique('cleared');
    const nodeId = unique('node');
    expect(
      (await api('POST', '/workers/register', { id: nodeId, mode: 'pull', queues: [queue] }, NODE))
        .status,
    ).toBe(201);
    expect((await api('DELETE', `/workers/${nodeId}`, undefined, NODE)).status).toBe(200);
    await retireNow(queue);

    const stub = env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
    await runInDurableObject(stub, async (_o, state) => {
      expect(await state.storage.getAlarm()).toBeNull();
      // Dropped and made again empty: not even the record of its last submission is left.
      const activeAt = state.storage.sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM meta WHERE k = 'active_at'")
        .one().n;
      expect(activeAt).toBe(0);
    });

    const job = await api('POST', '/jobs', { payload: 1, queue });
    expect(job.status).toBe(201);
    expect((await api('GET', `/queues/${queue}`, undefined, ADMIN)).body.depth).toBe(1);
    expect(await registryRow(queue)).toMatchObject({ retired_at: null });
  });
});
