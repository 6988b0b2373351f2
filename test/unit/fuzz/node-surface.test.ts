/**
 * Property-based fuzzing of a real worker node process's HTTP surface (POST /run, POST /cancel),
 * started as in test/unit/worker-node/node-surface.test.ts against the recording stand-in API
 * (fake-api.ts). Junk signatures and timestamps must be 401; validly signed junk must be 400; huge
 * bodies 413; every error in the `{ error: { code, message } }` shape; never a 5xx, and the process
 * stays up (GET /health answers) through all of it. Seeds: test/fuzz-support/config.ts.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeJobId, freePort, startNodeProcess, type NodeProcess } from '../../e2e/node-process';
import { startFakeApi, type FakeApi } from '../worker-node/fake-api';
import {
  applyMutation,
  invalidUtf8Body,
  junkJson,
  malformedJsonText,
  mutation,
  nastyString,
} from '../../fuzz-support/arbitraries';
import { fuzzParams } from '../../fuzz-support/config';
import { assertErrorShape } from '../../fuzz-support/error-shape';

const TOKEN = 'fuzz-node-token';
let api: FakeApi;
let node: NodeProcess;

beforeAll(async () => {
  api = await startFakeApi({ token: TOKEN, heartbeatIntervalSec: 5 });
  node = startNodeProcess({
    port: await freePort(),
    env: {
      API_URL: api.url,
      WORKER_TOKEN: TOKEN,
      HEARTBEAT_INTERVAL_SEC: '1',
      WORKER_CAPACITY: '2',
    },
  });
  await node.waitForLog('worker_registered', undefined, 30_000);
}, 60_000);

afterAll(async () => {
  await node?.kill();
  await api?.close();
});

/** The signature the scheduler sends: HMAC-SHA256 over `POST\n<path>\n<timestamp>\n` + the raw body bytes. */
function signature(path: string, ts: string, body: Uint8Array | string, secret = TOKEN): string {
  const mac = createHmac('sha256', secret).update(`POST\n${path}\n${ts}\n`).update(body);
  return `v2=${mac.digest('hex')}`;
}

async function send(
  path: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body as BodyInit,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // the shape check says so
  }
  return { status: res.status, body: parsed, text };
}

/** After every request: the node process is alive and answers its health probe. */
async function expectAlive(what: string): Promise<void> {
  expect(
    node.exitCode,
    `the node exited after ${what}; stderr: ${node.stderr.join('').slice(-1000)}`,
  ).toBeNull();
  const health = await fetch(`${node.url}/health`);
  expect(health.status, what).toBe(200);
}

const describeBody = (b: Uint8Array | string) =>
  typeof b === 'string'
    ? b.slice(0, 300)
    : `bytes(${b.length}) ${Buffer.from(b.slice(0, 120)).toString('hex')}`;
const path = fc.constantFrom('/run', '/cancel');
const validDispatch = () => ({
  worker_id: node.id,
  jobs: [
    {
      job_id: fakeJobId(),
      attempt: 1,
      token: `t-${Math.random().toString(36).slice(2)}`,
      queue: 'default',
      type: 'echo',
      payload: { n: 1 },
      timeout_sec: 5,
      executor: null,
    },
  ],
});

describe('fuzz the worker node HTTP surface', () => {
  it('junk signatures and timestamps are 401, whatever the body', async () => {
    const now = () => String(Date.now());
    const sig = fc.oneof(
      fc.constant(undefined),
      nastyString,
      fc.constantFrom(
        'v1=',
        'v1=zz',
        'v2=00',
        'v1=' + '0'.repeat(64),
        'v1=' + 'a'.repeat(63),
        ',,,',
        'v1=00,v1=11',
        'v2=' + '0'.repeat(64),
        'v2=zz',
        ' v1=ab ',
        'v1=' + 'ab'.repeat(5000),
        Array.from({ length: 500 }, () => 'v1=00').join(','),
      ),
      fc
        .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
        .chain((h) => fc.constantFrom(`v1=${h}`, `v2=${h}`)),
    );
    const ts = fc.oneof(
      fc.constant('now'),
      fc.constant(undefined),
      nastyString,
      fc.constantFrom(
        '0',
        '-1',
        '1e12',
        String(Date.now() + 10 * 60_000),
        String(Date.now() - 6 * 60_000),
        '9'.repeat(17),
        ' 1',
        '1.5',
        String(Number.MAX_SAFE_INTEGER),
      ),
    );
    const body = fc.oneof(
      malformedJsonText,
      junkJson.map((j) => JSON.stringify(j) ?? 'null'),
      fc.constant(JSON.stringify(validDispatch())),
    );
    const headerSafe = (v: string | undefined) =>
      v === undefined ||
      (!/[\r\n\0]/.test(v) &&
        [...v].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0x7e));
    await fc.assert(
      fc.asyncProperty(
        path,
        sig.filter(headerSafe),
        ts.filter(headerSafe),
        body,
        async (p, s, t, b) => {
          const headers: Record<string, string> = {};
          if (t !== undefined) headers['x-cloud-timestamp'] = t === 'now' ? now() : t;
          if (s !== undefined) headers['x-cloud-signature'] = s;
          const res = await send(p, b, headers);
          const what = `${p} ${JSON.stringify(headers).slice(0, 200)} ${describeBody(b)}`;
          assertErrorShape(what, res, []);
          expect(res.status, `${what} -> ${res.text.slice(0, 300)}`).toBe(401);
          expect(res.body.error.code).toBe('bad_signature');
        },
      ),
      fuzzParams('node junk signatures', 300),
    );
    await expectAlive('junk signatures');
    expect(node.events('job_received')).toHaveLength(0);
  }, 120_000);

  it('validly signed junk is 400 in the error shape (or a normal answer when it happens to be valid)', async () => {
    const text = fc.oneof(
      malformedJsonText,
      junkJson.map((j) => JSON.stringify(j) ?? 'null'),
      fc
        .tuple(mutation(['worker_id', 'jobs']))
        .map(([m]) => JSON.stringify(applyMutation(validDispatch(), m))),
      fc
        .tuple(
          mutation([
            'job_id',
            'attempt',
            'token',
            'queue',
            'type',
            'payload',
            'timeout_sec',
            'executor',
          ]),
        )
        .map(([m]) => {
          const d = validDispatch();
          return JSON.stringify({ ...d, jobs: [applyMutation(d.jobs[0], m)] });
        }),
      fc.integer({ min: 257, max: 400 }).map((n) =>
        JSON.stringify({
          worker_id: node.id,
          jobs: Array.from({ length: n }, () => validDispatch().jobs[0]),
        }),
      ),
      fc.constantFrom(
        `{"worker_id":"${'w'.repeat(10_000)}","jobs":[]}`,
        '[' + '['.repeat(20_000) + ']'.repeat(20_000) + ']',
        `{"worker_id":"x","jobs":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      ),
    );
    // Invalid UTF-8 is left out: signed over its raw bytes it is refused 401 today (a known bug, see
    // the regression test below); FUZZ_KNOWN=1 puts it back.
    const bytes = fc.oneof(
      text.map((t) => Buffer.from(t, 'utf8') as Uint8Array),
      invalidUtf8Body('{"worker_id":'),
    );
    await fc.assert(
      fc.asyncProperty(path, bytes, async (p, b) => {
        const ts = String(Date.now());
        const res = await send(p, b, {
          'x-cloud-timestamp': ts,
          'x-cloud-signature': signature(p, ts, b),
        });
        const what = `${p} signed ${describeBody(b)}`;
        assertErrorShape(what, res, []);
        // A signed body is past authentication: only its content may be refused.
        expect(
          [200, 202, 400, 409, 429],
          `${what} -> ${res.status} ${res.text.slice(0, 300)}`,
        ).toContain(res.status);
      }),
      fuzzParams('node signed junk', 300),
    );
    await expectAlive('signed junk');
  }, 120_000);

  it('huge bodies: 413 when over the limit, without taking the node down', async () => {
    const size = fc.constantFrom(20 * 1024 * 1024 + 1, 25 * 1024 * 1024, 2 * 1024 * 1024);
    await fc.assert(
      fc.asyncProperty(path, size, fc.boolean(), async (p, n, signed) => {
        const b = Buffer.alloc(n, 0x5b); // '[' * n: junk JSON as well as large
        const ts = String(Date.now());
        const what = `${p} ${n} bytes signed=${signed}`;
        const over = n > 20 * 1024 * 1024;
        // Over the limit the node answers 413 from the declared length and closes the connection
        // without reading the body, so the client may see the socket close (EPIPE) before the answer.
        const res = await send(
          p,
          b,
          signed ? { 'x-cloud-timestamp': ts, 'x-cloud-signature': signature(p, ts, b) } : {},
        ).catch((err: Error) => {
          if (over) return null;
          throw err;
        });
        if (res === null) return expectAlive(what);
        assertErrorShape(what, res, []);
        expect(res.status, what).toBe(over ? 413 : signed ? 400 : 401);
      }),
      fuzzParams('node huge bodies', 8),
    );
    await expectAlive('huge bodies');
  }, 120_000);

  it('verifies a signature over the raw body bytes even when they are not UTF-8, then refuses the body with 400', async () => {
    // The protocol signs method, path, timestamp and body over the raw bytes (docs/protocol.md 2.3); the node
    // decodes the body to a string first (lossy for invalid UTF-8), so the signature no longer matches.
    const b = Buffer.from([
      ...Buffer.from('{"worker_id":"ry'),
      0xed,
      0xa0,
      0x80,
      ...Buffer.from('"}'),
    ]);
    const ts = String(Date.now());
    const res = await send('/run', b, {
      'x-cloud-timestamp': ts,
      'x-cloud-signature': signature('/run', ts, b),
    });
    expect(res.status, res.text).toBe(400);
    assertErrorShape('/run signed invalid UTF-8', res, []);
  });
});
