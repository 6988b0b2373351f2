/**
 * Property-based fuzzing of the jobs API in workerd (real D1 and Scheduler Durable Objects): junk and
 * broken bodies for POST /jobs and /jobs/batch, junk queries for GET /jobs, junk ids for reads and
 * cancel, junk idempotency keys; and the positive side: any valid job body is accepted and reads back
 * equal. Seeds and run counts: test/fuzz-support/config.ts (VITE_FUZZ_SEED, VITE_FUZZ_RUNS).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ADMIN_AUTH,
  json,
  lightSnapshotWorkers,
  raw,
  type RawAnswer,
  type RawRequest,
} from '../fuzz-support/api-client';
import {
  checkRequests,
  describeRequest,
  expectUnchanged,
  sendChecked,
  takeBaseline,
} from '../fuzz-support/api-property';
import {
  applyMutation,
  junkJson,
  junkKey,
  mutation,
  nastyNumber,
  nastyString,
  pctEncode,
  rawEncode,
  validJobSubmit,
} from '../fuzz-support/arbitraries';
import { fuzzParams } from '../fuzz-support/config';

// Generous: a property cut off by a timeout would keep sending requests under the next one.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 30_000 });
// No worker endpoint is called here: the worker registry is compared at the end of each property only.
lightSnapshotWorkers(false);

const Q = 'fuzz-jobs';
const JOB_FIELDS = [
  'payload',
  'type',
  'priority',
  'timeout_sec',
  'max_retries',
  'queue',
  'executor',
  'delay_sec',
  'run_at',
  'concurrency_key',
  'concurrency_limit',
  'requires',
  'backoff',
] as const;
const post = (path: string, body: unknown, headers?: Record<string, string>): RawRequest => ({
  method: 'POST',
  path,
  body: JSON.stringify(body),
  headers,
});
const submitStatuses = (s: number) => [200, 201, 400, 409, 413].includes(s);
const problemFields = (body: any): string[] =>
  (body?.error?.details?.problems ?? []).map((p: { field: string }) => p.field);

/** An accepted submission is cancelled at once: a terminal job cannot change under the next snapshot. */
async function cancelCreated(_: RawRequest, res: RawAnswer): Promise<string[]> {
  const body = res.body as { job?: { id: string }; jobs?: { id: string }[] };
  const ids = (body.jobs ?? (body.job ? [body.job] : [])).map((j) => j.id);
  for (const id of ids) await raw({ method: 'POST', path: `/jobs/${id}/cancel` });
  return ids;
}

let existing: string; // a queued job of Q: reads of it are fine, nothing generated may change it
let finished: string; // a cancelled (terminal) job of Q

beforeAll(async () => {
  existing = (await json('POST', '/jobs', { payload: 'keep me', queue: Q })).body.job.id;
  finished = (await json('POST', '/jobs', { payload: 'done', queue: Q })).body.job.id;
  expect((await raw({ method: 'POST', path: `/jobs/${finished}/cancel` })).status).toBe(200);
});

describe('fuzz POST /jobs', () => {
  it('junk JSON bodies: no 5xx, the error shape, nothing changed when refused', async () => {
    const body = fc.oneof(
      junkJson,
      fc
        .tuple(junkJson, fc.dictionary(junkKey, junkJson, { maxKeys: 3 }))
        .map(([payload, rest]) => ({ ...rest, payload })),
    );
    await checkRequests(
      'POST /jobs junk',
      body.map((b) => post('/jobs', b)),
      80,
      { allowed: submitStatuses, onAccepted: cancelCreated },
    );
  });

  it('a valid body with one field broken: refused naming the field, or accepted when still valid', async () => {
    const baseline = await takeBaseline();
    await fc.assert(
      fc.asyncProperty(validJobSubmit(Q), mutation(JOB_FIELDS), async (valid, m) => {
        const req = post('/jobs', applyMutation(valid, m));
        await sendChecked(req, baseline, {
          allowed: submitStatuses,
          onAccepted: cancelCreated,
          check: (_, res) => {
            const what = describeRequest(req);
            if (m.kind === 'unknown') {
              expect(res.status, what).toBe(400);
              expect(problemFields(res.body), what).toContain(
                m.field === '' ? '(empty key)' : m.field,
              );
            }
            if (m.kind === 'delete' && m.field === 'payload')
              expect(problemFields(res.body), what).toContain('payload');
          },
        });
      }),
      fuzzParams('POST /jobs mutated', 80),
    );
    await expectUnchanged(baseline);
  });

  it('junk X-Idempotency-Key values: 400 naming the header unless 1 to 255 printable ASCII', async () => {
    const key = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 250, maxLength: 260 }),
      nastyString,
      fc.constantFrom(
        '',
        ' ',
        'a b',
        'k'.repeat(255),
        'k'.repeat(256),
        '\t',
        'é',
        '\u00ff',
        'ok-key',
      ),
    );
    // Only values fetch can send: no CR, LF or NUL; Headers trims surrounding whitespace.
    const sendable = key.filter(
      (k) => k.length <= 300 && !/[\r\n\0]/.test(k) && [...k].every((c) => c.charCodeAt(0) <= 0xff),
    );
    const baseline = await takeBaseline();
    await fc.assert(
      fc.asyncProperty(sendable, async (k) => {
        const req = post('/jobs', { payload: 'idem', queue: Q }, { 'x-idempotency-key': k });
        const res = await sendChecked(req, baseline, {
          allowed: submitStatuses,
          onAccepted: cancelCreated,
        });
        const sent = k.replace(/^[\t ]+|[\t ]+$/g, '');
        if (/^[\x21-\x7e]{1,255}$/.test(sent))
          expect([200, 201], describeRequest(req)).toContain(res.status);
        else {
          expect(res.status, describeRequest(req)).toBe(400);
          expect(problemFields(res.body)).toContain('X-Idempotency-Key');
        }
      }),
      fuzzParams('POST /jobs idempotency keys', 50),
    );
    await expectUnchanged(baseline);
  });
});

describe('fuzz POST /jobs/batch', () => {
  it('batches with junk, broken, mixed-queue or too many jobs are refused whole', async () => {
    const jobs = fc.oneof(
      fc.array(
        fc.oneof(
          validJobSubmit(Q),
          fc.tuple(validJobSubmit(Q), mutation(JOB_FIELDS)).map(([v, m]) => applyMutation(v, m)),
        ),
        { maxLength: 4 },
      ),
      fc
        .array(validJobSubmit(Q), { minLength: 1, maxLength: 3 })
        .map((js) => [...js, { payload: 1, queue: `${Q}-other` }]),
      fc
        .integer({ min: 101, max: 300 })
        .map((n) => Array.from({ length: n }, (_, i) => ({ payload: i, queue: Q }))),
      junkJson,
    );
    const body = fc.oneof(
      jobs.map((j) => ({ jobs: j })),
      jobs.map((j) => ({ jobs: j, extra: true })),
      junkJson,
    );
    await checkRequests(
      'POST /jobs/batch',
      body.map((b) => post('/jobs/batch', b)),
      50,
      { allowed: submitStatuses, onAccepted: cancelCreated },
    );
  });
});

/** A query string of generated pairs: known and junk keys, repeated keys, junk values, some left unencoded. */
const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('limit', 'offset', 'status', 'priority', 'type', 'queue'),
        nastyString,
      ),
      fc.oneof(
        nastyNumber.map(String),
        fc.constantFrom(
          '',
          'NaN',
          '-1',
          '0',
          '1e3',
          '1e400',
          '0x10',
          ' 5',
          '5 ',
          '-0',
          '1.5',
          '500',
          '501',
          '1000001',
          'queued',
          'QUEUED',
          Q,
          'echo',
        ),
        nastyString,
      ),
      fc.boolean(),
    ),
    { maxLength: 5 },
  )
  .map((pairs) =>
    pairs
      .map(([k, v, encode]) =>
        encode ? `${pctEncode(k)}=${pctEncode(v)}` : rawEncode(`${k}=${v}`).replace(/#/g, '%23'),
      )
      .join('&'),
  );

describe('fuzz reads', () => {
  it('GET /jobs with junk queries: 200 with a sane page, or 400 naming the parameter', async () => {
    await checkRequests(
      'GET /jobs query',
      queryString.map((q) => ({ method: 'GET', path: `/jobs?${q}` })),
      80,
      {
        allowed: (s) => s === 200 || s === 400,
        check: (req, res) => {
          if (res.status !== 200) return;
          const b = res.body as any;
          expect(
            Array.isArray(b.jobs) &&
              Number.isInteger(b.total) &&
              b.limit >= 1 &&
              b.limit <= 500 &&
              b.offset >= 0,
            describeRequest(req),
          ).toBe(true);
        },
      },
    );
  });

  /** Ids: junk, very long, well-formed but unknown, the real ones with junk around them. */
  const badId = fc.oneof(
    nastyString.filter((s) => s !== ''),
    fc.integer({ min: 1000, max: 20_000 }).map((n) => 'a'.repeat(n)),
    fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}\.[0-9A-HJKMNP-TV-Z]{26}$/),
    fc.constantFrom(
      'x',
      '.',
      '..',
      `${Q}.`,
      `${Q}.01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      `${Q.toUpperCase()}.01ARZ3NDEKTSV4RRFFQ69G5FAV`,
    ),
    fc
      .tuple(
        fc.constantFrom('', ' ', '%00', '/', '..', 'x'),
        fc.constantFrom(' ', '%00', 'x', '/', '?a=1'),
      )
      .map(([pre, post]) => `${pre}${existing}${post}`)
      .filter((s) => s !== existing),
  );
  const idPath = fc
    .tuple(badId, fc.constantFrom('encoded', 'raw', 'double'))
    .map(([id, how]) =>
      how === 'encoded'
        ? pctEncode(id)
        : how === 'double'
          ? encodeURIComponent(pctEncode(id))
          : rawEncode(id).replace(/#/g, '%23'),
    );

  it('junk ids in GET /jobs/:id, POST /jobs/:id/cancel and GET /queues/:name', async () => {
    const req = fc.oneof(
      idPath.map((id): RawRequest => ({ method: 'GET', path: `/jobs/${id}` })),
      idPath.map((id): RawRequest => ({ method: 'POST', path: `/jobs/${id}/cancel` })),
      fc.tuple(idPath, junkJson).map(([id, b]): RawRequest => ({
        method: 'POST',
        path: `/jobs/${id}/cancel`,
        body: JSON.stringify(b),
      })),
      fc
        .tuple(idPath, queryString)
        .map(([name, q]): RawRequest => ({ method: 'GET', path: `/queues/${name}?${q}` })),
      queryString.map((q): RawRequest => ({ method: 'GET', path: `/queues/${Q}?${q}` })),
      fc
        .constantFrom(finished)
        .map((id): RawRequest => ({ method: 'POST', path: `/jobs/${id}/cancel` })),
    );
    await checkRequests('job ids and queue names', req, 80, {
      allowed: (s, r) => [400, 404, 409].includes(s) || (s === 200 && r.method === 'GET'),
    });
  });
});

describe('fuzz as the admin', () => {
  it('junk X-Tenant values with the admin token: 400 naming X-Tenant, or a normal answer', async () => {
    const tenant = nastyString.filter(
      (k) => k.length <= 300 && !/[\r\n\0]/.test(k) && [...k].every((c) => c.charCodeAt(0) <= 0xff),
    );
    const req = fc.tuple(tenant, fc.constantFrom('submit', 'list')).map(([t, what]): RawRequest =>
      what === 'submit'
        ? {
            method: 'POST',
            path: '/jobs',
            body: JSON.stringify({ payload: 1, queue: Q }),
            headers: { ...ADMIN_AUTH, 'x-tenant': t },
          }
        : { method: 'GET', path: '/jobs?limit=1', headers: { ...ADMIN_AUTH, 'x-tenant': t } },
    );
    await checkRequests('admin X-Tenant', req, 40, {
      allowed: (s) => [200, 201, 400].includes(s),
      onAccepted: cancelCreated,
    });
  });
});
