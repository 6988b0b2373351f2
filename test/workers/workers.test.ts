import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';
import { api, submit, WORKER_TOKEN, waitFor, fireCron } from './helpers';

// The only test file that registers worker nodes, so /ready starts at 503 here.
const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
const registration = (id: string, url: string, queues = ['default']) => ({
  id,
  url,
  capacity: 1,
  executors: ['native'],
  queues,
});

describe('worker registry', () => {
  it('is not ready until a live worker node registers', async () => {
    const before = await api('GET', '/ready');
    expect(before.status).toBe(503);
    expect(before.body.error.code).toBe('not_ready');
    expect(
      (await api('POST', '/workers/register', registration('node-a', 'http://127.0.0.1:9'), auth))
        .status,
    ).toBe(201);
    const after = await api('GET', '/ready');
    expect(after.status).toBe(200);
    expect(after.body.live_workers).toBeGreaterThanOrEqual(1);
    const list = await api('GET', '/workers');
    expect(list.body.workers.find((w: { id: string }) => w.id === 'node-a')).toMatchObject({
      url: 'http://127.0.0.1:9',
      status: 'active',
      capacity: 1,
      running: 0,
    });
  });

  it('refuses register, heartbeat, deregister and result calls without the worker token', async () => {
    expect(
      (await api('POST', '/workers/register', registration('node-x', 'http://127.0.0.1:9'))).status,
    ).toBe(401);
    const wrong = await api(
      'POST',
      '/workers/register',
      registration('node-x', 'http://127.0.0.1:9'),
      { authorization: 'Bearer nope-nope-nope' },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
    expect((await api('POST', '/workers/node-a/heartbeat', { running: [] })).status).toBe(401);
    expect((await api('DELETE', '/workers/node-a')).status).toBe(401);
    expect(
      (
        await api('POST', '/jobs/default.01ARZ3NDEKTSV4RRFFQ69G5FAV/result', {
          worker_id: 'a',
          attempt: 1,
          token: 't',
          exit_code: 0,
          stdout: '',
          stderr: '',
          duration_ms: 1,
          executor: 'native',
        })
      ).status,
    ).toBe(401);
    expect(
      (await api('GET', '/workers')).body.workers.some((w: { id: string }) => w.id === 'node-x'),
    ).toBe(false);
  });

  it.each([
    ['credentials in the URL', 'http://user:pass@127.0.0.1:9090'],
    ['a scheme other than http(s)', 'ftp://127.0.0.1/run'],
    ['something that is not a URL', 'not a url'],
  ])('refuses a worker URL with %s, naming the url field', async (_what, url) => {
    const res = await api('POST', '/workers/register', registration('node-bad', url), auth);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('url');
  });

  it('answers a heartbeat from an unknown node with 404 and tells a known node to kill leases it does not hold', async () => {
    const unknown = await api('POST', '/workers/ghost/heartbeat', { running: [] }, auth);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('worker_unknown');
    const bogus = { job_id: 'default.01ARZ3NDEKTSV4RRFFQ69G5FAV', attempt: 1, token: 'abc' };
    const hb = await api('POST', '/workers/node-a/heartbeat', { running: [bogus] }, auth);
    expect(hb.status).toBe(200);
    expect(hb.body).toMatchObject({ status: 'active', drain: false, kill: [bogus] });
  });

  it('retries a failed dispatch with backoff, then fails the job with the error recorded', async () => {
    const queue = `deadnode-${Date.now()}`;
    // Port 9 on loopback refuses connections: a node that is registered but unreachable.
    expect(
      (
        await api(
          'POST',
          '/workers/register',
          registration('node-dead', 'http://127.0.0.1:9', [queue]),
          auth,
        )
      ).status,
    ).toBe(201);
    const job = (await submit({ payload: 'x', queue, max_retries: 1 })).body.job;
    const retrying = await waitFor('retrying', async () => {
      const j = (await api('GET', `/jobs/${job.id}`)).body.job;
      return j.status === 'retrying' ? j : undefined;
    });
    expect(retrying.attempts).toBe(1);
    expect(retrying.error).toMatch(/dispatch to node-dead failed/);
    expect(Date.parse(retrying.next_attempt_at) - Date.parse(retrying.updated_at)).toBe(2000);
    // A result for an attempt that does not hold the job is refused and changes nothing.
    const stale = await api(
      'POST',
      `/jobs/${job.id}/result`,
      {
        worker_id: 'node-dead',
        attempt: 1,
        token: 'forged',
        exit_code: 0,
        stdout: '{}',
        stderr: '',
        duration_ms: 1,
        executor: 'native',
      },
      auth,
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('stale_attempt');
    const failed = await waitFor('failed', async () => {
      const j = (await api('GET', `/jobs/${job.id}`)).body.job;
      return j.status === 'failed' ? j : undefined;
    });
    expect(failed.attempts).toBe(2);
    expect(failed.error).toMatch(/dispatch to node-dead failed/);
    expect(failed.finished_at).not.toBeNull();
  });

  it('deregisters a node once; a second time is 404', async () => {
    expect(
      (await api('POST', '/workers/register', registration('node-b', 'http://127.0.0.1:9'), auth))
        .status,
    ).toBe(201);
    const res = await api('DELETE', '/workers/node-b', undefined, auth);
    expect(res.status).toBe(200);
    expect(res.body.requeued).toBe(0);
    expect((await api('DELETE', '/workers/node-b', undefined, auth)).status).toBe(404);
  });
});

describe('capability routing', () => {
  it('reports a job no live node can run in /stats, and routes it once a capable node registers', async () => {
    const queue = `route-${Date.now()}`;
    const only = (id: string, types: string[]) => ({
      ...registration(id, 'http://127.0.0.1:9', [queue]),
      types,
    });
    expect((await api('POST', '/workers/register', only('node-echo', ['echo']), auth)).status).toBe(
      201,
    );
    const job = (await submit({ type: 'fib', payload: { n: 5 }, queue })).body.job;
    const stuck = await waitFor('unroutable in /stats', async () => {
      const s = (await api('GET', '/stats')).body;
      return s.unroutable.reasons['no live node runs type fib'] ? s : undefined;
    });
    expect(stuck.unroutable.count).toBeGreaterThanOrEqual(1);
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('queued');
    expect((await api('POST', '/workers/register', only('node-fib', ['fib']), auth)).status).toBe(
      201,
    );
    const moved = await waitFor('the job dispatched to the capable node', async () => {
      const j = (await api('GET', `/jobs/${job.id}`)).body.job;
      return j.attempts >= 1 ? j : undefined;
    });
    expect(moved.worker_id).toBe('node-fib');
    expect(
      (await api('GET', '/stats')).body.unroutable.reasons['no live node runs type fib'],
    ).toBeUndefined();
  });
});

describe('configuration', () => {
  // Issue 12, item 4: a timeout below the interval reaps healthy nodes every cycle.
  it('answers 503 config_invalid naming both heartbeat variables when the interval outgrows the timeout', async () => {
    const res = await createApp().fetch(
      new Request('http://cloud.test/health'),
      { ...env, WORKER_HEARTBEAT_TIMEOUT_SEC: '4', HEARTBEAT_INTERVAL_SEC: '5' },
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('config_invalid');
    expect(body.error.message).toContain('HEARTBEAT_INTERVAL_SEC');
    expect(body.error.message).toContain('WORKER_HEARTBEAT_TIMEOUT_SEC');
  });
  it('answers every request 503 config_invalid naming the bad variable', async () => {
    const app = createApp();
    for (const [vars, name] of [
      [{ MIN_WORKERS: '5', MAX_WORKERS: '2' }, 'MIN_WORKERS'],
      [{ WORKER_HEARTBEAT_TIMEOUT_SEC: 'soon' }, 'WORKER_HEARTBEAT_TIMEOUT_SEC'],
      [{ WORKER_TOKEN: 'short' }, 'WORKER_TOKEN'],
    ] as const) {
      const res = await app.fetch(
        new Request('http://cloud.test/health'),
        { ...env, ...vars },
        createExecutionContext(),
      );
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('config_invalid');
      expect(body.error.message).toContain(name);
      expect(body.error.message).not.toContain('test-worker-token');
    }
  });
});

describe('cron trigger', () => {
  it('re-imports a job D1 holds as queued that its scheduler lost', async () => {
    const queue = `orphan-${Date.now()}`;
    const id = `${queue}.01ARZ3NDEKTSV4RRFFQ69G5FAV`;
    const now = Date.now();
    await env.DB.prepare('INSERT INTO queues (name, created_at) VALUES (?, ?)')
      .bind(queue, now)
      .run();
    await env.DB.prepare(
      `INSERT INTO jobs (id, tenant, queue, type, payload, priority, status, attempts, max_retries, timeout_sec, created_at, updated_at)
       VALUES (?, 'default', ?, 'echo', '"orphan"', 1, 'queued', 0, 3, 60, ?, ?)`,
    )
      .bind(id, queue, now, now)
      .run();
    expect((await api('GET', `/queues/${queue}`)).body.head).toEqual([]);
    await fireCron();
    expect(
      (await api('GET', `/queues/${queue}`)).body.head.map((h: { id: string }) => h.id),
    ).toEqual([id]);
  });
});
