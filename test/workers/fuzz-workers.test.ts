/**
 * Property-based fuzzing of the worker protocol, admin and schedule endpoints in workerd: junk and
 * broken bodies, junk ids and junk credentials for register, heartbeat, deregister, result reports,
 * API keys, node keys (and junk signatures with a real one) and schedules. Pass: no 5xx, the error shape naming the field, and a refused request
 * changes nothing (jobs, workers, keys, schedules). Seeds: test/fuzz-support/config.ts.
 */
import fc from 'fast-check';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ADMIN_AUTH,
  WORKER_AUTH,
  json,
  raw,
  type RawAnswer,
  type RawRequest,
} from '../fuzz-support/api-client';
import { checkRequests } from '../fuzz-support/api-property';
import { sha256Hex } from '../../src/core/api-key';
import { parseNodeKey } from '../../src/core/node-key';
import { signRequest } from '../../src/core/signature';
import {
  applyMutation,
  junkJson,
  mutation,
  nastyString,
  pctEncode,
} from '../fuzz-support/arbitraries';

// Generous: a property cut off by a timeout would keep sending requests under the next one.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 30_000 });

const WORKER = 'fuzz-w1';
const IDLE_QUEUE = 'fuzz-idle'; // no jobs: a worker registered here is never dispatched to
const JOB_QUEUE = 'fuzz-wq';
let job: string; // queued, never running: no result report may touch it

const post = (
  path: string,
  body: unknown,
  headers: Record<string, string | undefined> = WORKER_AUTH,
): RawRequest => ({
  method: 'POST',
  path,
  body: JSON.stringify(body),
  headers: Object.fromEntries(
    Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined),
  ),
});
const mutated = (base: Record<string, unknown>, fields: readonly string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: mutation(fields).map((m) => applyMutation(base, m)) },
    { weight: 1, arbitrary: junkJson },
    {
      weight: 1,
      arbitrary: fc
        .tuple(mutation(fields), mutation(fields))
        .map(([a, b]) => applyMutation(applyMutation(base, a), b)),
    },
  );
const junkId = fc
  .oneof(
    nastyString.filter((s) => s !== ''),
    fc.integer({ min: 200, max: 5000 }).map((n) => 'w'.repeat(n)),
    fc.constantFrom('fuzz-w2', `${WORKER}x`, 'a:b', '-x'),
  )
  .map(pctEncode);

const REGISTER = {
  id: 'fuzz-reg',
  url: 'http://127.0.0.1:9',
  capacity: 2,
  types: ['echo'],
  executors: ['native'],
  queues: [IDLE_QUEUE],
  labels: { zone: 'a' },
};
// `queues` too (issue 15): broken, missing, or naming queues the node is not registered with.
const HEARTBEAT = { running: [], draining: false, queues: [IDLE_QUEUE] };
const RESULT = {
  worker_id: WORKER,
  attempt: 1,
  token: 'tok',
  exit_code: 0,
  stdout: '{"ok":true}',
  stderr: '',
  duration_ms: 12,
  executor: 'native',
  timed_out: false,
};
const KEY = { tenant: 'fuzz-tenant', name: 'fuzz key' };
const NODE_KEY = { node_id: 'fuzz-nk', queues: [IDLE_QUEUE], labels: { zone: '*' }, name: 'fuzz' };
const KEYED = 'fuzz-keyed'; // registered with its own node key
let nodeKey: string;

/** A keyed node's call: Bearer its key, with these signature headers (a valid signature by default). */
async function keyedRequest(
  method: string,
  path: string,
  body: unknown,
  sign: { ts?: string; sig?: string | null; signedPath?: string } = {},
): Promise<RawRequest> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const ts = sign.ts ?? String(Date.now());
  const key = await sha256Hex(parseNodeKey(nodeKey)!.secret);
  const sig =
    sign.sig === undefined
      ? await signRequest(
          key,
          { method, path: sign.signedPath ?? path, body: text },
          /^\d{1,16}$/.test(ts) ? Number(ts) : Date.now(),
        )
      : sign.sig;
  return {
    method,
    path,
    ...(body === undefined ? {} : { body: text }),
    headers: {
      authorization: `Bearer ${nodeKey}`,
      ...(ts === '' ? {} : { 'x-cloud-timestamp': ts }),
      ...(sig === null ? {} : { 'x-cloud-signature': sig }),
    },
  };
}
const SCHEDULE = {
  cron: '0 0 1 1 *',
  timezone: 'UTC',
  job: { payload: { n: 1 }, queue: 'fuzz-sched' },
  overlap: 'forbid',
  name: 'yearly',
};

beforeAll(async () => {
  expect(
    (await json('POST', '/workers/register', { ...REGISTER, id: WORKER }, WORKER_AUTH)).status,
  ).toBe(201);
  job = (await json('POST', '/jobs', { payload: 'waits', queue: JOB_QUEUE })).body.job.id;
  const issued = await json(
    'POST',
    '/admin/node-keys',
    { node_id: KEYED, queues: [IDLE_QUEUE] },
    ADMIN_AUTH,
  );
  expect(issued.status).toBe(201);
  nodeKey = issued.body.key;
  const reg = { ...REGISTER, id: KEYED, labels: undefined };
  expect((await raw(await keyedRequest('POST', '/workers/register', reg))).status).toBe(201);
});

// A worker silent for WORKER_HEARTBEAT_TIMEOUT_SEC is reaped, which would show as a change in the
// snapshot; every property starts with a fresh heartbeat and lasts well under that.
beforeEach(async () => {
  expect((await json('POST', `/workers/${WORKER}/heartbeat`, HEARTBEAT, WORKER_AUTH)).status).toBe(
    200,
  );
  const keyed = await keyedRequest('POST', `/workers/${KEYED}/heartbeat`, HEARTBEAT);
  expect((await raw(keyed)).status).toBe(200);
});

/** A path the client normalised (`/workers/../heartbeat` is `/heartbeat`) is another route: 401 or 404 there. */
const normalisedAway = (req: RawRequest, route: RegExp) =>
  !route.test(new URL(req.path, 'http://x').pathname);

/** Undo an accepted worker-protocol request, then let the full snapshot be taken again. */
async function undoWorker(req: RawRequest, res: RawAnswer): Promise<void> {
  if (req.path === '/workers/register' && res.body?.worker?.id && res.body.worker.id !== WORKER) {
    await raw({
      method: 'DELETE',
      path: `/workers/${encodeURIComponent(res.body.worker.id)}`,
      headers: WORKER_AUTH,
    });
  }
}

describe('fuzz the worker protocol', () => {
  it('POST /workers/register with broken bodies', async () => {
    const body = mutated(REGISTER, Object.keys(REGISTER));
    await checkRequests(
      'register',
      body.map((b) => post('/workers/register', b)),
      60,
      { allowed: (s) => [201, 400, 413].includes(s), onAccepted: undoWorker },
    );
  });

  it('POST /workers/:id/heartbeat with broken bodies and junk ids', async () => {
    const lease = { job_id: job, attempt: 1, token: 't' };
    const body = mutated({ ...HEARTBEAT, running: [lease] }, Object.keys(HEARTBEAT));
    const req = fc
      .tuple(fc.oneof(fc.constant(WORKER), junkId), body)
      .map(([id, b]) => post(`/workers/${id}/heartbeat`, b));
    await checkRequests('heartbeat', req, 60, {
      allowed: (s, r) =>
        [200, 400, 404, 413].includes(s) ||
        (s === 401 && normalisedAway(r, /^\/workers\/[^/]+\/heartbeat$/)),
      onAccepted: undoWorker,
    });
  });

  it('DELETE /workers/:id with junk ids', async () => {
    const req = junkId.map((id): RawRequest => ({
      method: 'DELETE',
      path: `/workers/${id}`,
      headers: WORKER_AUTH,
    }));
    await checkRequests('deregister', req, 40, {
      allowed: (s, r) =>
        [400, 404].includes(s) || (s === 401 && normalisedAway(r, /^\/workers\/[^/]+$/)),
    });
  });

  it('POST /jobs/:id/result with broken reports, for a job that is not running and for junk ids', async () => {
    const body = mutated(RESULT, Object.keys(RESULT));
    const id = fc.oneof(
      fc.constant(job),
      junkId,
      fc.constant(`${JOB_QUEUE}.01ARZ3NDEKTSV4RRFFQ69G5FAV`),
    );
    const req = fc.tuple(id, body).map(([i, b]) => post(`/jobs/${i}/result`, b));
    await checkRequests('result', req, 60, {
      allowed: (s, r) =>
        [400, 404, 409, 413].includes(s) ||
        (s === 401 && normalisedAway(r, /^\/jobs\/[^/]+\/result$/)),
    });
  });

  it('junk credentials on every worker endpoint: 401 in the error shape', async () => {
    const auth = fc.oneof(
      fc.constant(undefined),
      nastyString
        .filter(
          (s) =>
            s.length < 300 && !/[\r\n\0]/.test(s) && [...s].every((c) => c.charCodeAt(0) <= 0xff),
        )
        .map((s) => `Bearer ${s}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Basic dGVzdA==',
        'bearer test-worker-tokenx',
        'test-worker-token',
        'Bearer test-worker-token extra',
      ),
    );
    const req = fc
      .tuple(auth, fc.constantFrom('register', 'heartbeat', 'delete', 'result'))
      .map(([a, which]): RawRequest => {
        const headers: Record<string, string> = a === undefined ? {} : { authorization: a };
        if (which === 'register')
          return post('/workers/register', { ...REGISTER, id: 'fuzz-intruder' }, headers);
        if (which === 'heartbeat') return post(`/workers/${WORKER}/heartbeat`, HEARTBEAT, headers);
        if (which === 'delete') return { method: 'DELETE', path: `/workers/${WORKER}`, headers };
        return post(`/jobs/${job}/result`, RESULT, headers);
      });
    await checkRequests('worker credentials', req, 40, { allowed: (s) => s === 401 });
  });

  it('a real node key with junk signatures: 401 bad_signature, whatever the call', async () => {
    const headerSafe = (v: string) =>
      !/[\r\n\0]/.test(v) &&
      [...v].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0x7e);
    const bad = fc.oneof(
      fc
        .oneof(
          fc.constant(null),
          nastyString.filter(headerSafe),
          fc.constantFrom('v2=', 'v2=zz', 'v1=' + '0'.repeat(64), 'v2=' + '0'.repeat(64), ',,'),
        )
        .map((sig) => ({ sig })),
      fc
        .oneof(
          fc.constant(''),
          nastyString.filter((t) => t !== '' && headerSafe(t)),
          fc.constantFrom(String(Date.now() - 6 * 60_000), String(Date.now() + 6 * 60_000), '1.5'),
        )
        .map((ts) => ({ ts })),
      // A valid signature of another route is as junk as any.
      fc.constant({ signedPath: `/workers/${KEYED}/lease` }),
    );
    const req = fc
      .tuple(fc.constantFrom('register', 'heartbeat', 'delete', 'result'), bad)
      .map(([which, opts]) =>
        which === 'register'
          ? keyedRequest('POST', '/workers/register', { ...REGISTER, id: KEYED }, opts)
          : which === 'heartbeat'
            ? keyedRequest('POST', `/workers/${KEYED}/heartbeat`, HEARTBEAT, opts)
            : which === 'delete'
              ? keyedRequest('DELETE', `/workers/${KEYED}`, undefined, opts)
              : keyedRequest('POST', `/jobs/${job}/result`, { ...RESULT, worker_id: KEYED }, opts),
      );
    await checkRequests('node key junk signatures', req, 40, {
      allowed: (s) => s === 401,
      check: (_, res) => expect(res.body.error.code).toBe('bad_signature'),
    });
  });

  it('a real node key, validly signed, with junk ids: never another node, never a 5xx', async () => {
    const req = fc
      .tuple(junkId, fc.constantFrom('heartbeat', 'delete', 'lease'))
      .map(([id, which]) =>
        which === 'heartbeat'
          ? keyedRequest('POST', `/workers/${id}/heartbeat`, HEARTBEAT)
          : which === 'lease'
            ? keyedRequest('POST', `/workers/${id}/lease`, { wait_sec: 0 })
            : keyedRequest('DELETE', `/workers/${id}`, undefined),
      );
    await checkRequests('node key junk ids', req, 40, {
      // 403: not its id; 400: not an id at all; 401: a path the client normalised elsewhere, whose
      // signature then no longer matches.
      allowed: (s, r) =>
        [400, 403].includes(s) || (s === 401 && normalisedAway(r, /^\/workers\/[^/]+(\/|$)/)),
    });
  });
});

describe('fuzz admin and schedules', () => {
  it('POST /admin/keys with broken bodies; GET and DELETE with junk', async () => {
    const req = fc.oneof(
      mutated(KEY, Object.keys(KEY)).map((b) => post('/admin/keys', b, ADMIN_AUTH)),
      junkId.map((t): RawRequest => ({
        method: 'GET',
        path: `/admin/keys?tenant=${t}`,
        headers: ADMIN_AUTH,
      })),
      junkId.map((id): RawRequest => ({
        method: 'DELETE',
        path: `/admin/keys/${id}`,
        headers: ADMIN_AUTH,
      })),
      fc
        .constantFrom<Record<string, string>>({}, { authorization: 'Bearer nope' })
        .map((h) => post('/admin/keys', KEY, h)),
    );
    await checkRequests('admin keys', req, 60, {
      allowed: (s, r) =>
        [400, 401, 404, 413].includes(s) ||
        (s === 201 && r.method === 'POST') ||
        (s === 200 && r.method === 'GET'),
      // A created key stays (revoking it is a change too): the full snapshot is taken again.
      onAccepted: async () => {},
    });
  });

  it('POST /admin/node-keys with broken bodies; GET and DELETE with junk', async () => {
    const req = fc.oneof(
      mutated(NODE_KEY, [...Object.keys(NODE_KEY), 'node_prefix']).map((b) =>
        post('/admin/node-keys', b, ADMIN_AUTH),
      ),
      junkId.map((q): RawRequest => ({
        method: 'GET',
        path: `/admin/node-keys?live=${q}`,
        headers: ADMIN_AUTH,
      })),
      junkId.map((id): RawRequest => ({
        method: 'DELETE',
        path: `/admin/node-keys/${id}`,
        headers: ADMIN_AUTH,
      })),
      fc
        .constantFrom<Record<string, string>>({}, WORKER_AUTH, { authorization: 'Bearer nope' })
        .map((h) => post('/admin/node-keys', NODE_KEY, h)),
    );
    await checkRequests('admin node keys', req, 60, {
      allowed: (s, r) =>
        [400, 401, 404, 409, 413].includes(s) ||
        (s === 201 && r.method === 'POST') ||
        (s === 200 && r.method === 'GET'),
      // A created key stays (revoking it is a change too): the full snapshot is taken again.
      onAccepted: async () => {},
    });
  });

  it('POST /schedules with broken bodies (the nested job too)', async () => {
    const jobFields = [
      'payload',
      'type',
      'priority',
      'queue',
      'delay_sec',
      'run_at',
      'timeout_sec',
    ];
    const body = fc.oneof(
      mutated(SCHEDULE, Object.keys(SCHEDULE)),
      mutation(jobFields).map((m) => ({ ...SCHEDULE, job: applyMutation(SCHEDULE.job, m) })),
      fc
        .oneof(
          nastyString,
          fc.constantFrom(
            '* * * * * * *',
            '60 * * * *',
            '*/0 * * * *',
            '0 0 31 2 *',
            '@reboot',
            '@every 1s',
            'L W # ?',
            '0-59/99999999999 * * * *',
            '* * * * * *',
          ),
        )
        .map((cron) => ({ ...SCHEDULE, cron })),
      fc
        .oneof(
          nastyString,
          fc.constantFrom('Mars/Olympus', 'UTC+25', '../../etc/localtime', 'Europe/Paris '),
        )
        .map((timezone) => ({ ...SCHEDULE, timezone })),
    );
    await checkRequests(
      'schedules',
      body.map((b) => post('/schedules', b, {})),
      60,
      {
        allowed: (s) => [201, 400, 413].includes(s),
        onAccepted: async (_, res) => {
          await raw({ method: 'DELETE', path: `/schedules/${res.body.schedule.id}` });
        },
      },
    );
  });
});
