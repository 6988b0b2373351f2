import { describe, expect, it } from 'vitest';
import { api, WORKER_TOKEN } from './helpers';

/**
 * Two tenants, one queue each and one queue they share (the operator's: a node registered for it
 * before either tenant named it, so neither owns it): every read that observes queues or nodes
 * (GET /queues/:name, /stats, /stats/history, /metrics, /workers, which the dashboard draws from)
 * shows a tenant key its own jobs only, and the admin everything.
 */
const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
let seq = 0;
const unique = (what: string) => `${what}-${Date.now().toString(36)}-${seq++}`;

async function tenantKey(tenant: string): Promise<Record<string, string>> {
  const res = await api('POST', '/admin/keys', { tenant, name: 'views' }, ADMIN);
  expect(res.status).toBe(201);
  return { 'x-api-key': res.body.key };
}

async function setup() {
  const a = await tenantKey(unique('va'));
  const b = await tenantKey(unique('vb'));
  const own = unique('a-only');
  const shared = unique('shared');
  const node = await api(
    'POST',
    '/workers/register',
    { id: unique('shared-node'), mode: 'pull', queues: [shared] },
    { authorization: `Bearer ${WORKER_TOKEN}` },
  );
  expect(node.status).toBe(201);
  const secretType = unique('a-secret-type');
  const aJobs: string[] = [];
  for (const queue of [own, own, shared]) {
    const res = await api('POST', '/jobs', { payload: 1, queue, type: secretType }, a);
    expect(res.status).toBe(201);
    aJobs.push(res.body.job.id);
  }
  const bJob = (await api('POST', '/jobs', { payload: 2, queue: shared, priority: 0 }, b)).body.job;
  return { a, b, own, shared, secretType, aJobs, bJob };
}

describe('tenant views of queues and nodes', () => {
  it('GET /queues/:name: a tenant sees its own jobs in a shared queue, none of an other tenant', async () => {
    const { a, b, own, shared, secretType, aJobs, bJob } = await setup();

    const mine = await api('GET', `/queues/${shared}`, undefined, b);
    expect(mine.status).toBe(200);
    expect(mine.body.head.map((h: { id: string }) => h.id)).toEqual([bJob.id]);
    expect(mine.body.depth).toBe(1);
    expect(mine.body.by_status).toEqual({ queued: 1 });
    expect(JSON.stringify(mine.body)).not.toContain(secretType);

    const other = await api('GET', `/queues/${own}`, undefined, b);
    expect(other.body).toMatchObject({ depth: 0, head: [], by_status: {} });
    expect(JSON.stringify(other.body)).not.toContain(aJobs[0]);

    expect((await api('GET', `/queues/${own}`, undefined, a)).body.depth).toBe(2);
    const all = await api('GET', `/queues/${shared}`, undefined, ADMIN);
    expect(all.body.depth).toBe(2);
    expect(all.body.head.map((h: { id: string }) => h.id).sort()).toEqual(
      [aJobs[2], bJob.id].sort(),
    );
  });

  it('GET /stats, /stats/history and /metrics: no other tenant queue names or figures', async () => {
    const { b, own, shared } = await setup();

    const stats = await api('GET', '/stats', undefined, b);
    expect(stats.status).toBe(200);
    expect(stats.body.queues).toEqual([shared]);
    expect(stats.body.queue_depth).toBe(1);
    expect(stats.body.queue_depth_by_priority).toEqual({ '0': 1, '1': 0, '2': 0 });
    expect(stats.body.throughput.submitted).toBe(1);
    expect(stats.body.autoscale_by_queue).toEqual({});
    expect(JSON.stringify(stats.body)).not.toContain(own);

    const history = await api('GET', '/stats/history', undefined, b);
    expect(history.status).toBe(200);
    expect(history.body.submitted.every((n: number) => n === 0)).toBe(true);

    const metrics = await api('GET', '/metrics', undefined, b);
    expect(metrics.status).toBe(200);
    expect(metrics.body).not.toContain(own);
    expect(metrics.body).toContain(`queue_depth{queue="${shared}",priority="0"} 1`);
    expect(metrics.body).toContain(`queue_depth{queue="${shared}",priority="1"} 0`);
    expect(metrics.body).not.toMatch(/jobs_submitted_total\{/);

    const admin = await api('GET', '/stats', undefined, ADMIN);
    expect(admin.body.queues).toEqual(expect.arrayContaining([own, shared]));
    expect(await api('GET', '/metrics', undefined, ADMIN)).toMatchObject({
      body: expect.stringContaining(`queue_depth{queue="${own}",priority="1"} 2`),
    });
  });

  it('GET /workers: node details for the admin, a count of live nodes for a tenant', async () => {
    const { b } = await setup();
    const node = unique('node-views');
    const registered = await api(
      'POST',
      '/workers/register',
      {
        id: node,
        url: 'http://127.0.0.1:9',
        capacity: 1,
        executors: ['native'],
        queues: [unique('node-q')],
        labels: { rack: 'secret-rack' },
      },
      { authorization: `Bearer ${WORKER_TOKEN}` },
    );
    expect(registered.status).toBe(201);

    const tenant = await api('GET', '/workers', undefined, b);
    expect(tenant.status).toBe(200);
    expect(Object.keys(tenant.body)).toEqual(['live_workers']);
    expect(tenant.body.live_workers).toBeGreaterThanOrEqual(1);
    const stats = JSON.stringify((await api('GET', '/stats', undefined, b)).body);
    const metrics = (await api('GET', '/metrics', undefined, b)).body as string;
    for (const text of [JSON.stringify(tenant.body), stats, metrics]) {
      expect(text).not.toContain(node);
      expect(text).not.toContain('secret-rack');
    }

    const admin = await api('GET', '/workers', undefined, ADMIN);
    expect(admin.body.workers.find((w: { id: string }) => w.id === node)).toMatchObject({
      url: 'http://127.0.0.1:9',
      labels: { rack: 'secret-rack' },
    });
    expect(admin.body.live_workers).toBe(tenant.body.live_workers);
  });
});
