import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';
import { api, WORKER_TOKEN } from './helpers';

/**
 * Liveness does not depend on D1 answering (issue 15): a heartbeat that names the node's queues goes
 * to their Scheduler objects and nowhere else. The API is given a real D1 database in which every
 * query fails (DB_UNMIGRATED has no tables), so a D1 read anywhere on the route would fail it; the
 * objects keep their own binding, as they do when only the API's reads of D1 are failing.
 */
const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let seq = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${seq++}`;

async function withoutD1(method: string, path: string, body?: unknown) {
  const broken = (env as unknown as { DB_UNMIGRATED: D1Database }).DB_UNMIGRATED;
  const res = await createApp().fetch(
    new Request(`http://cloud.test${path}`, {
      method,
      headers: { ...auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, DB: broken },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as any };
}

describe('heartbeat while D1 fails', () => {
  it('keeps a node alive when its heartbeat names its queues, with no D1 query', async () => {
    const id = fresh('hb-node');
    const queues = [fresh('hbq'), fresh('hbq')];
    const reg = await api('POST', '/workers/register', { id, mode: 'pull', queues }, auth);
    expect(reg.status).toBe(201);

    const hb = await withoutD1('POST', `/workers/${id}/heartbeat`, { running: [], queues });
    expect(hb.status).toBe(200);
    expect(hb.body).toMatchObject({ status: 'active', drain: false, kill: [] });

    // The database really is failing for the API: a read of the registry does not get an answer.
    const old = await withoutD1('POST', `/workers/${id}/heartbeat`, { running: [] });
    expect(old.status).toBe(503);
    expect(old.body.error.code).toBe('registry_unavailable');
  });

  it('answers 404 for a node none of the named queues knows, still without D1', async () => {
    const hb = await withoutD1('POST', `/workers/${fresh('ghost')}/heartbeat`, {
      running: [],
      queues: [fresh('nobody')],
    });
    expect(hb.status).toBe(404);
    expect(hb.body.error.code).toBe('worker_unknown');
  });
});
