/**
 * Node keys (issue 15) in workerd, against the real API, Scheduler objects and D1: issuing, listing
 * and revoking them; what a keyed node may register as and for; the request signatures; revocation
 * reaching the Scheduler objects; and a node key surviving a D1 outage through the isolate's cache.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/api-key';
import { parseNodeKey } from '../../src/core/node-key';
import { signRequest } from '../../src/core/signature';
import { createApp } from '../../src/api/app';
import { api, callWithVars, submit, WORKER_TOKEN } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

interface Issued {
  key: string;
  id: string;
}

async function issue(body: Record<string, unknown>): Promise<Issued> {
  const r = await api('POST', '/admin/node-keys', body, ADMIN);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { key: r.body.key, id: r.body.node_key.id };
}

interface CallOptions {
  /** Sign these instead of what is sent: a tampered request. */
  signed?: { method?: string; path?: string; body?: string; ts?: number };
  ts?: number;
  /**
   * Send through createApp() with these variables and bindings on top of the test's (as
   * helpers.callWithVars does), in this module's isolate: its node-key cache is this file's.
   */
  vars?: Record<string, unknown>;
}

/** A real D1 database no migration was applied to: every query fails (vitest.config.ts). */
const BROKEN_D1 = (env as unknown as { DB_UNMIGRATED: D1Database }).DB_UNMIGRATED;

/** A node's call: Bearer its key, signed over method, path, timestamp and body as a node signs it. */
async function nodeCall(
  key: string,
  method: string,
  path: string,
  body?: unknown,
  opts: CallOptions = {},
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const ts = opts.ts ?? Date.now();
  const signingKey = await sha256Hex(parseNodeKey(key)!.secret);
  const s = opts.signed ?? {};
  const sig = await signRequest(
    signingKey,
    { method: s.method ?? method, path: s.path ?? path, body: s.body ?? text },
    s.ts ?? ts,
  );
  const headers = {
    authorization: `Bearer ${key}`,
    'x-cloud-timestamp': String(ts),
    'x-cloud-signature': sig,
  };
  if (!opts.vars) return api(method, path, body === undefined ? undefined : text, headers);
  const res = await createApp().fetch(
    new Request(`http://cloud.test${path}`, {
      method,
      headers: {
        ...headers,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : text,
    }),
    { ...env, ...opts.vars },
    createExecutionContext(),
  );
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const pullNode = (id: string, queues: string[], labels?: Record<string, string>) => ({
  id,
  mode: 'pull',
  executors: ['native'],
  queues,
  ...(labels ? { labels } : {}),
});
const beat = (key: string, id: string, opts?: CallOptions, queues?: string[]) =>
  nodeCall(key, 'POST', `/workers/${id}/heartbeat`, { running: [], queues }, opts);
const problemFields = (body: { error: { details?: { problems?: { field: string }[] } } }) =>
  (body.error.details?.problems ?? []).map((p) => p.field);

describe('issuing, listing and revoking node keys', () => {
  it('issues a key once, stores only its hash, and lists keys without secrets', async () => {
    const nodeId = fresh('n');
    const r = await api(
      'POST',
      '/admin/node-keys',
      { node_id: nodeId, queues: ['default', 'default'], labels: { zone: '*' }, name: 'one' },
      ADMIN,
    );
    expect(r.status).toBe(201);
    expect(r.body.key).toMatch(/^nk_[a-z2-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(r.body.node_key).toMatchObject({
      node_id: nodeId,
      node_prefix: null,
      queues: ['default'],
      labels: { zone: '*' },
      name: 'one',
      revoked_at: null,
    });
    const secret = parseNodeKey(r.body.key)!.secret;
    const row = await env.DB.prepare('SELECT * FROM node_keys WHERE id = ?')
      .bind(r.body.node_key.id)
      .first<Record<string, unknown>>();
    expect(row!.secret_hash).toBe(await sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret);

    const pool = await api(
      'POST',
      '/admin/node-keys',
      { node_prefix: fresh('pool'), queues: ['default'] },
      ADMIN,
    );
    expect(pool.status).toBe(201);
    expect(pool.body.node_key.labels).toBeNull();

    const list = await api('GET', '/admin/node-keys', undefined, ADMIN);
    expect(list.status).toBe(200);
    const ids = list.body.node_keys.map((k: { id: string }) => k.id);
    expect(ids).toEqual(expect.arrayContaining([r.body.node_key.id, pool.body.node_key.id]));
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body.node_keys.every((k: object) => !('key' in k))).toBe(true);
  });

  it('refuses bad bodies with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ queues: ['default'] }, 'node_id'],
      [{ node_id: 'a', node_prefix: 'b', queues: ['default'] }, 'node_prefix'],
      [{ node_id: 'a', queues: [] }, 'queues'],
      [{ node_id: 'a', queues: ['Not A Queue'] }, 'queues.0'],
      [{ node_id: 'bad id!', queues: ['default'] }, 'node_id'],
      [{ node_prefix: '-x', queues: ['default'] }, 'node_prefix'],
      [{ node_id: 'a', queues: ['default'], labels: { gpu: '' } }, 'labels.gpu'],
      [{ node_id: 'a', queues: ['default'], secret: 'mine' }, 'secret'],
    ];
    for (const [body, field] of cases) {
      const r = await api('POST', '/admin/node-keys', body, ADMIN);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(problemFields(r.body), JSON.stringify(body)).toContain(field);
    }
    expect((await api('DELETE', '/admin/node-keys/NOT-AN-ID', undefined, ADMIN)).status).toBe(400);
    expect((await api('GET', '/admin/node-keys?x=1', undefined, ADMIN)).status).toBe(400);
  });

  it('is for the admin only', async () => {
    const body = { node_id: 'x', queues: ['default'] };
    expect((await api('POST', '/admin/node-keys', body)).status).toBe(401);
    const worker = { authorization: `Bearer ${WORKER_TOKEN}` };
    expect((await api('POST', '/admin/node-keys', body, worker)).status).toBe(401);
    expect((await api('GET', '/admin/node-keys', undefined, worker)).status).toBe(401);
  });

  it('refuses a binding that overlaps a live key, but not the same binding (a rotation)', async () => {
    const prefix = fresh('ovl');
    await issue({ node_prefix: `${prefix}-`, queues: ['default'] });
    for (const body of [
      { node_id: `${prefix}-1`, queues: ['default'] },
      { node_prefix: `${prefix}-a`, queues: ['default'] },
      { node_prefix: prefix, queues: ['default'] },
    ]) {
      const r = await api('POST', '/admin/node-keys', body, ADMIN);
      expect(r.status, JSON.stringify(body)).toBe(409);
      expect(r.body.error.code).toBe('node_key_overlap');
      expect(problemFields(r.body)).toEqual([Object.keys(body)[0]]);
    }
    await issue({ node_prefix: `${prefix}-`, queues: ['default'] });
    const id = fresh('rot');
    await issue({ node_id: id, queues: ['default'] });
    await issue({ node_id: id, queues: ['default'] });
  });

  it('answers 404 for an unknown key id', async () => {
    const r = await api('DELETE', '/admin/node-keys/abcdefghijkm', undefined, ADMIN);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('node_key_not_found');
  });
});

describe('registering with a node key', () => {
  it('registers within its scope and heartbeats as itself', async () => {
    const [id, queue] = [fresh('ok'), fresh('q')];
    const { key } = await issue({ node_id: id, queues: [queue, 'spare'], labels: { zone: '*' } });
    const reg = await nodeCall(
      key,
      'POST',
      '/workers/register',
      pullNode(id, [queue], { zone: 'eu' }),
    );
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const hb = await beat(key, id);
    expect(hb.status, JSON.stringify(hb.body)).toBe(200);
  });

  it('refuses a queue outside its scope, naming it', async () => {
    const [id, queue] = [fresh('qs'), fresh('q')];
    const { key } = await issue({ node_id: id, queues: [queue] });
    const r = await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue, 'billing']));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('node_scope_refused');
    expect(problemFields(r.body)).toEqual(['queues.1']);
    expect(r.body.error.message).toContain('billing');
  });

  it('refuses a label outside its scope, naming it', async () => {
    const [id, queue] = [fresh('ls'), fresh('q')];
    const { key } = await issue({ node_id: id, queues: [queue], labels: { gpu: 'a100' } });
    const wrongValue = await nodeCall(
      key,
      'POST',
      '/workers/register',
      pullNode(id, [queue], { gpu: 'h100' }),
    );
    expect(wrongValue.status).toBe(403);
    expect(problemFields(wrongValue.body)).toEqual(['labels.gpu']);
    const unknown = await nodeCall(
      key,
      'POST',
      '/workers/register',
      pullNode(id, [queue], { gpu: 'a100', owner: 'me' }),
    );
    expect(unknown.status).toBe(403);
    expect(problemFields(unknown.body)).toEqual(['labels.owner']);
  });

  it("refuses another node's id, in a registration, a path or a report", async () => {
    const [mine, other, queue] = [fresh('me'), fresh('other'), fresh('q')];
    const { key } = await issue({ node_id: mine, queues: [queue] });
    const reg = await nodeCall(key, 'POST', '/workers/register', pullNode(other, [queue]));
    expect(reg.status).toBe(403);
    expect(reg.body.error.code).toBe('node_id_refused');
    expect(problemFields(reg.body)).toEqual(['id']);

    const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
    expect((await api('POST', '/workers/register', pullNode(other, [queue]), auth)).status).toBe(
      201,
    );
    const hb = await beat(key, other);
    expect(hb.status).toBe(403);
    expect(hb.body.error.details.in).toBe('path');
    expect((await nodeCall(key, 'DELETE', `/workers/${other}`)).status).toBe(403);
    // A node may be called `register`: DELETE /workers/register acts as that id.
    expect((await nodeCall(key, 'DELETE', '/workers/register')).status).toBe(403);
    const job = (await submit({ payload: 1, queue })).body.job;
    const report = await nodeCall(key, 'POST', `/jobs/${job.id}/result`, {
      worker_id: other,
      attempt: 1,
      token: 't',
      exit_code: 0,
      stdout: '',
      stderr: '',
      duration_ms: 1,
      executor: 'native',
    });
    expect(report.status).toBe(403);
    expect(problemFields(report.body)).toEqual(['worker_id']);
    // The other node is still there.
    expect((await api('POST', `/workers/${other}/heartbeat`, { running: [] }, auth)).status).toBe(
      200,
    );
  });

  it('lets a pool key register ids with its prefix only', async () => {
    const [prefix, queue] = [fresh('pool'), fresh('q')];
    const { key } = await issue({ node_prefix: `${prefix}-`, queues: [queue] });
    const ok = await nodeCall(key, 'POST', '/workers/register', pullNode(`${prefix}-7`, [queue]));
    expect(ok.status).toBe(201);
    const no = await nodeCall(key, 'POST', '/workers/register', pullNode(`x${prefix}-7`, [queue]));
    expect(no.status).toBe(403);
    expect(no.body.error.code).toBe('node_id_refused');
  });

  it('keeps a keyed id from the shared token', async () => {
    const [id, queue] = [fresh('held'), fresh('q')];
    const { key } = await issue({ node_id: id, queues: [queue] });
    expect((await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]))).status).toBe(
      201,
    );
    const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
    const taken = await api('POST', '/workers/register', pullNode(id, [queue]), auth);
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('node_id_taken');
  });

  it('refuses an unknown key or a wrong secret with 401', async () => {
    const { key } = await issue({ node_id: fresh('k'), queues: ['default'] });
    const wrong = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const r = await nodeCall(wrong, 'POST', '/workers/register', pullNode('k', ['default']));
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  });
});

describe('request signatures', () => {
  it('refuses a missing signature, and a tampered method, path, body or timestamp', async () => {
    const [id, queue] = [fresh('sig'), fresh('q')];
    const { key } = await issue({ node_id: id, queues: [queue] });
    expect((await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]))).status).toBe(
      201,
    );
    const path = `/workers/${id}/heartbeat`;
    const unsigned = await api('POST', path, { running: [] }, { authorization: `Bearer ${key}` });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error).toMatchObject({
      code: 'bad_signature',
      details: { reason: 'missing' },
    });
    const now = Date.now();
    const tampered: [CallOptions, string][] = [
      [{ signed: { path: `/workers/${id}/lease` } }, 'mismatch'],
      [{ signed: { method: 'DELETE' } }, 'mismatch'],
      [{ signed: { body: JSON.stringify({ running: [], draining: true }) } }, 'mismatch'],
      [{ ts: now, signed: { ts: now - 1 } }, 'mismatch'],
      [{ ts: now - 6 * 60_000 }, 'stale'],
      [{ ts: now + 6 * 60_000 }, 'stale'],
    ];
    for (const [opts, reason] of tampered) {
      const r = await beat(key, id, opts);
      expect(r.status, JSON.stringify(opts)).toBe(401);
      expect(r.body.error.code).toBe('bad_signature');
      expect(r.body.error.details.reason, JSON.stringify(opts)).toBe(reason);
      expect(problemFields(r.body)).toHaveLength(1);
    }
    expect((await beat(key, id)).status).toBe(200);
  });

  it('checks a signature sent with the shared token, which may also go unsigned', async () => {
    const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
    const id = fresh('shared');
    const body = pullNode(id, [fresh('q')]);
    const ts = Date.now();
    const bad = await signRequest(
      WORKER_TOKEN,
      { method: 'POST', path: '/workers/elsewhere', body: JSON.stringify(body) },
      ts,
    );
    const signedWrong = await api('POST', '/workers/register', body, {
      ...auth,
      'x-cloud-timestamp': String(ts),
      'x-cloud-signature': bad,
    });
    expect(signedWrong.status).toBe(401);
    expect(signedWrong.body.error.code).toBe('bad_signature');
    expect((await api('POST', '/workers/register', body, auth)).status).toBe(201);
  });

  it('refuses the shared token when ALLOW_SHARED_WORKER_TOKEN=false, and keeps node keys working', async () => {
    const [id, queue] = [fresh('only'), fresh('q')];
    const vars = { ALLOW_SHARED_WORKER_TOKEN: 'false' };
    const shared = await callWithVars(vars, 'POST', '/workers/register', pullNode(id, [queue]), {
      authorization: `Bearer ${WORKER_TOKEN}`,
    });
    expect(shared.status).toBe(401);
    expect(shared.body.error.code).toBe('shared_token_disabled');
    const { key } = await issue({ node_id: id, queues: [queue] });
    const keyed = await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]), {
      vars,
    });
    expect(keyed.status).toBe(201);
  });
});

describe('revocation', () => {
  it("stops the node's calls and re-queues its leased job", async () => {
    const [id, queue] = [fresh('rev'), fresh('q')];
    const { key, id: keyId } = await issue({ node_id: id, queues: [queue] });
    expect((await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]))).status).toBe(
      201,
    );
    const job = (await submit({ payload: 1, queue })).body.job;
    const leased = await nodeCall(key, 'POST', `/workers/${id}/lease`, {
      max_jobs: 1,
      wait_sec: 5,
      queues: [queue],
    });
    expect(leased.status, JSON.stringify(leased.body)).toBe(200);
    expect(leased.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([job.id]);
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('running');

    const revoked = await api('DELETE', `/admin/node-keys/${keyId}`, undefined, ADMIN);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toMatchObject({ revoked: true, deregistered: [id], requeued: 1 });
    expect((await api('GET', `/jobs/${job.id}`)).body.job.status).toBe('queued');

    const hb = await beat(key, id);
    expect(hb.status).toBe(401);
    expect(hb.body.error.code).toBe('node_key_revoked');
    const again = await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]));
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('node_key_revoked');
    const list = (await api('GET', '/admin/node-keys', undefined, ADMIN)).body.node_keys;
    expect(list.find((k: { id: string }) => k.id === keyId).revoked_at).not.toBeNull();
    // Repeating it tells the queues again (a revocation that answered 503 is repeated).
    const repeat = await api('DELETE', `/admin/node-keys/${keyId}`, undefined, ADMIN);
    expect(repeat.status).toBe(200);
    expect(repeat.body).toMatchObject({ deregistered: [], requeued: 0 });
  });

  it('is refused by the Scheduler objects even while an API isolate still trusts the key', async () => {
    const [id, queue] = [fresh('stale'), fresh('q')];
    const { key, id: keyId } = await issue({ node_id: id, queues: [queue] });
    expect((await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]))).status).toBe(
      201,
    );
    // What the revoke route tells each queue, without D1 knowing: D1 still has the key live, as a
    // stale cache would.
    const stub = env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
    expect(await stub.revokeNodeKey(queue, keyId)).toMatchObject({ deregistered: [id] });
    expect((await beat(key, id)).status).toBe(404);
    // Retiring the idle queue keeps what refuses the key (durable-objects/retirement.ts).
    const now = Date.now();
    expect(await stub.retire(queue, now + 1, now)).toEqual({ retired: true, cleared: false });
    const reg = await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]));
    expect(reg.status).toBe(401);
    expect(reg.body.error.code).toBe('node_key_revoked');
  });
});

describe('liveness without D1', () => {
  // Every D1 query of the API fails, and the key is due to be read again at each call.
  const down = { DB: BROKEN_D1, NODE_KEY_CACHE_SEC: '0' };

  it('keeps accepting a key this isolate has read while D1 fails; a key it never read is 503', async () => {
    const [id, queue] = [fresh('d1'), fresh('q')];
    const { key } = await issue({ node_id: id, queues: [queue] });
    const reg = await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]), {
      vars: {},
    });
    expect(reg.status).toBe(201);
    // Beating with its queues, as the worker node does: nothing on the route reads D1 then but the key.
    for (let i = 0; i < 3; i++) {
      const hb = await beat(key, id, { vars: down }, [queue]);
      expect(hb.status, JSON.stringify(hb.body)).toBe(200);
    }
    const other = await issue({ node_id: fresh('cold'), queues: [queue] });
    const cold = await beat(other.key, 'whoever', { vars: down }, [queue]);
    expect(cold.status).toBe(503);
    expect(cold.body.error.code).toBe('node_keys_unavailable');
    expect(cold.headers.get('retry-after')).toBe('5');
  });

  it('reads a cached key again after NODE_KEY_CACHE_SEC: the bound on revocation elsewhere', async () => {
    const [id, queue] = [fresh('bound'), fresh('q')];
    const { key, id: keyId } = await issue({ node_id: id, queues: [queue] });
    expect(
      (await nodeCall(key, 'POST', '/workers/register', pullNode(id, [queue]), { vars: {} }))
        .status,
    ).toBe(201);
    // Revoked in D1 behind this isolate's back, as another isolate's revoke route would.
    await env.DB.prepare('UPDATE node_keys SET revoked_at = ? WHERE id = ?')
      .bind(Date.now(), keyId)
      .run();
    const cached = await beat(key, id, { vars: { NODE_KEY_CACHE_SEC: '3600' } });
    expect(cached.status).toBe(200);
    const reread = await beat(key, id, { vars: { NODE_KEY_CACHE_SEC: '0' } });
    expect(reread.status).toBe(401);
    expect(reread.body.error.code).toBe('node_key_revoked');
  });
});
