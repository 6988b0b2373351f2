/**
 * Transport-level fuzzing of every endpoint that takes a body, in workerd: text that is not JSON,
 * invalid UTF-8 bytes, lone surrogates in escapes, deep nesting (to 10k levels), bodies over each
 * route's limit, wrong content types, oversized headers and wrong methods. Pass: no 5xx, the error
 * shape, and nothing changed. Seeds: test/fuzz-support/config.ts.
 */
import fc from 'fast-check';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_AUTH, WORKER_AUTH, json, raw, type RawRequest } from '../fuzz-support/api-client';
import { checkRequests } from '../fuzz-support/api-property';
import {
  deepDepth,
  deepJson,
  invalidUtf8Body,
  malformedJsonText,
} from '../fuzz-support/arbitraries';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 30_000 });

const WORKER = 'fuzz-raw-w';
let job: string;

interface Endpoint {
  method: string;
  path: () => string;
  headers: Record<string, string>;
  /** The route's body limit (src/api/middleware/body-limits.ts), to send one just over it. */
  limit: number;
  /** Where a deep value goes: `{ "<field>": <deep> }` merged into a valid body. */
  valid: () => Record<string, unknown>;
  deepField: string;
}

const ENDPOINTS: Endpoint[] = [
  {
    method: 'POST',
    path: () => '/jobs',
    headers: {},
    limit: 2 * 65536 + 4096,
    valid: () => ({ payload: 1, queue: 'fuzz-raw' }),
    deepField: 'payload',
  },
  {
    method: 'POST',
    path: () => '/jobs/batch',
    headers: {},
    limit: 100 * (65536 + 1024) + 4096,
    valid: () => ({ jobs: [{ payload: 1, queue: 'fuzz-raw' }] }),
    deepField: 'jobs',
  },
  {
    method: 'POST',
    path: () => `/jobs/${job}/cancel`,
    headers: {},
    limit: 4 * 1024 * 1024,
    valid: () => ({}),
    deepField: 'x',
  },
  {
    method: 'POST',
    path: () => '/workers/register',
    headers: WORKER_AUTH,
    limit: 256 * 1024,
    valid: () => ({ id: 'fuzz-raw-reg', url: 'http://127.0.0.1:9', queues: ['fuzz-raw-idle'] }),
    deepField: 'labels',
  },
  {
    method: 'POST',
    path: () => `/workers/${WORKER}/heartbeat`,
    headers: WORKER_AUTH,
    limit: 256 * 1024,
    valid: () => ({ running: [] }),
    deepField: 'running',
  },
  {
    method: 'POST',
    path: () => `/jobs/${job}/result`,
    headers: WORKER_AUTH,
    limit: 4 * 1024 * 1024,
    valid: () => ({
      worker_id: WORKER,
      attempt: 1,
      token: 't',
      exit_code: 0,
      stdout: '',
      stderr: '',
      duration_ms: 1,
      executor: null,
    }),
    deepField: 'stdout',
  },
  {
    method: 'POST',
    path: () => '/admin/keys',
    headers: ADMIN_AUTH,
    limit: 16 * 1024,
    valid: () => ({ tenant: 'fuzz-raw' }),
    deepField: 'name',
  },
  {
    method: 'POST',
    path: () => '/admin/node-keys',
    headers: ADMIN_AUTH,
    limit: 16 * 1024,
    valid: () => ({ node_id: 'fuzz-raw-nk', queues: ['fuzz-raw-idle'] }),
    deepField: 'labels',
  },
  {
    method: 'POST',
    path: () => '/dead-letters/replay',
    headers: {},
    limit: 64 * 1024,
    // No failed job in this queue: a body that parses replays nothing.
    valid: () => ({ queue: 'fuzz-raw-none', limit: 1 }),
    deepField: 'type',
  },
  {
    method: 'POST',
    path: () => '/schedules',
    headers: {},
    limit: 2 * 65536 + 8192,
    valid: () => ({ cron: '0 0 1 1 *', job: { payload: 1, queue: 'fuzz-raw' } }),
    deepField: 'job',
  },
];
const endpoint = fc.constantFrom(...ENDPOINTS);

beforeAll(async () => {
  expect(
    (
      await json(
        'POST',
        '/workers/register',
        { id: WORKER, url: 'http://127.0.0.1:9', queues: ['fuzz-raw-idle'] },
        WORKER_AUTH,
      )
    ).status,
  ).toBe(201);
  // Queued and left alone: cancels below never reach it with a body that parses (cancel takes none).
  job = (await json('POST', '/jobs', { payload: 'raw', queue: 'fuzz-raw-q' })).body.job.id;
});

// A worker silent for WORKER_HEARTBEAT_TIMEOUT_SEC is reaped: keep it alive across the properties.
beforeEach(async () => {
  expect(
    (await json('POST', `/workers/${WORKER}/heartbeat`, { running: [] }, WORKER_AUTH)).status,
  ).toBe(200);
});

const request = (
  e: Endpoint,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): RawRequest => ({
  method: e.method,
  path: e.path(),
  body,
  headers: { ...e.headers, ...headers },
});

/** A valid body with the value at `field` replaced by raw JSON text. */
const withRaw = (e: Endpoint, text: string) => {
  const body = JSON.stringify({ ...e.valid(), [e.deepField]: '__RAW__' });
  return body.replace('"__RAW__"', text);
};

/**
 * Routes that take a body with invalid UTF-8 today, replacing the bytes with U+FFFD (a known bug,
 * reproduced in fuzz-regressions.test.ts): left out of the UTF-8 property until it is fixed.
 */
const KNOWN_UTF8_REPLACED: string[] = [];

// Everything refused must stay refused; the cancel endpoint with an ignored body may cancel, so it
// is kept out of the properties that send otherwise-valid bodies.
const refusing = ENDPOINTS.filter((e) => !e.path().includes('/cancel'));

describe('fuzz request bodies at the byte level', () => {
  it('text that is not JSON, or JSON with a surprise, on every endpoint', async () => {
    const req = fc
      .tuple(fc.constantFrom(...refusing), malformedJsonText)
      .map(([e, t]) => request(e, t));
    await checkRequests('malformed JSON', req, 80, { allowed: (s) => s >= 400 && s < 500 });
  });

  it('invalid UTF-8 bytes inside a JSON string', async () => {
    const req = fc
      .constantFrom(...refusing.filter((e) => !KNOWN_UTF8_REPLACED.includes(e.path())))
      .chain((e) => invalidUtf8Body(withRaw(e, '').slice(0, -1)).map((bytes) => request(e, bytes)));
    await checkRequests('invalid UTF-8', req, 50, { allowed: (s) => s >= 400 && s < 500 });
  });

  it('lone surrogates in \\u escapes, in every string field', async () => {
    const esc = fc.constantFrom(
      '"\\ud800"',
      '"\\udfff"',
      '"a\\ud83d"',
      '"\\ude00b"',
      '"\\udc00\\ud800"',
      '["\\ud800"]',
      '{"\\ud800":1}',
    );
    const req = fc
      .tuple(fc.constantFrom(...refusing), esc)
      .map(([e, t]) => request(e, withRaw(e, t)));
    await checkRequests('lone surrogates', req, 50, {
      allowed: (s) => s < 500,
      onAccepted: async (_, res) =>
        res.body?.job?.id ? [res.body.job.id] : res.body?.jobs?.map((j: { id: string }) => j.id),
    });
  });

  it('deep nesting, to 10k levels, at the top and inside a field', async () => {
    const depth = deepDepth;
    const req = fc
      .tuple(
        fc.constantFrom(...refusing),
        depth,
        fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>,
        fc.boolean(),
      )
      .map(([e, depth, kind, top]) =>
        request(e, top ? deepJson(depth, kind) : withRaw(e, deepJson(depth, kind))),
      );
    // A deep payload is valid JSON and is accepted (201) by POST /jobs: the runner's 128-level limit is
    // not enforced by the API (see the report). Anything else must be a 4xx.
    await checkRequests('deep nesting', req, 40, {
      allowed: (s, r) => (s >= 400 && s < 500) || (s === 201 && r.path === '/jobs'),
      onAccepted: async (_, res) => {
        await raw({ method: 'POST', path: `/jobs/${res.body.job.id}/cancel` });
        return [res.body.job.id];
      },
    });
  });

  it('bodies just over and far over each route limit: 413 before parsing', async () => {
    const req = fc
      .tuple(fc.constantFrom(...refusing), fc.constantFrom(1, 1000, 1 << 20), fc.boolean())
      .map(([e, over, declared]) => {
        const size = e.limit + over;
        const body = withRaw(e, `"${'x'.repeat(Math.max(0, size - withRaw(e, '""').length))}"`);
        // Also without a content-length, as a stream (the limit must hold for chunked bodies too).
        return declared ? request(e, body) : request(e, new TextEncoder().encode(body));
      });
    await checkRequests('oversized bodies', req, 20, { allowed: (s) => s === 413 });
  });
});

describe('fuzz headers and methods', () => {
  it('wrong or odd content types', async () => {
    const type = fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/json-patch+json',
      'application/vnd.api+json',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json;;',
      'json',
      '*/*',
      ' ',
      'application/json\u00ff',
    );
    const req = fc
      .tuple(fc.constantFrom(...refusing), type)
      .map(([e, t]) =>
        request(e, JSON.stringify({ ...e.valid(), unknown_field: 1 }), { 'content-type': t }),
      );
    await checkRequests('content types', req, 50, { allowed: (s) => s === 400 || s === 415 });
  });

  it('oversized and repeated headers', async () => {
    const headers = fc.oneof(
      fc.integer({ min: 8_000, max: 200_000 }).map((n) => ({ 'x-junk': 'h'.repeat(n) })),
      fc
        .integer({ min: 50, max: 300 })
        .map((n) =>
          Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v'.repeat(100)])),
        ),
      fc.integer({ min: 1000, max: 100_000 }).map((n) => ({ 'x-idempotency-key': 'k'.repeat(n) })),
      fc.integer({ min: 200, max: 10_000 }).map((n) => ({ 'x-request-id': 'r'.repeat(n) })),
    );
    const req = fc
      .tuple(fc.constantFrom(...refusing), headers)
      .map(([e, h]) => request(e, JSON.stringify({ ...e.valid(), unknown_field: 1 }), h));
    await checkRequests('big headers', req, 20, { allowed: (s) => s >= 400 && s < 500 });
  });

  it('wrong methods on every route', async () => {
    const req = fc
      .tuple(endpoint, fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS'), fc.boolean())
      .map(([e, method, body]): RawRequest => ({
        method,
        path: e.path(),
        headers: e.headers,
        ...(body ? { body: JSON.stringify(e.valid()) } : {}),
      }));
    await checkRequests('wrong methods', req, 30, { allowed: (s) => s >= 400 && s < 500 });
  });
});
