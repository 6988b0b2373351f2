import { describe, expect, it } from 'vitest';
import { api, submit } from './helpers';

/** Every class of bad input gets a 4xx in the one error shape, naming the field; nothing is created. */
async function expectRefused(
  res: { status: number; body: any },
  status: number,
  code: string,
  field?: string,
) {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  if (field) {
    expect(res.body.error.message).toContain(field);
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
  }
}

describe('validation of POST /jobs', () => {
  const queue = `val-${Date.now()}`;
  const cases: [string, unknown, number, string, string | undefined][] = [
    ['a missing payload', { type: 'echo', queue }, 400, 'validation_failed', 'payload'],
    [
      'a priority out of range',
      { payload: 1, priority: 3, queue },
      400,
      'validation_failed',
      'priority',
    ],
    [
      'a priority of the wrong type',
      { payload: 1, priority: 'high', queue },
      400,
      'validation_failed',
      'priority',
    ],
    [
      'a negative priority',
      { payload: 1, priority: -1, queue },
      400,
      'validation_failed',
      'priority',
    ],
    ['an unknown field', { payload: 1, colour: 'red', queue }, 400, 'validation_failed', 'colour'],
    [
      'a fractional timeout',
      { payload: 1, timeout_sec: 1.5, queue },
      400,
      'validation_failed',
      'timeout_sec',
    ],
    [
      'a timeout over a day',
      { payload: 1, timeout_sec: 86_401, queue },
      400,
      'validation_failed',
      'timeout_sec',
    ],
    [
      'a zero timeout',
      { payload: 1, timeout_sec: 0, queue },
      400,
      'validation_failed',
      'timeout_sec',
    ],
    [
      'too many retries',
      { payload: 1, max_retries: 11, queue },
      400,
      'validation_failed',
      'max_retries',
    ],
    ['a bad queue name', { payload: 1, queue: 'Has Spaces' }, 400, 'validation_failed', 'queue'],
    ['a bad type', { payload: 1, type: '../etc', queue }, 400, 'validation_failed', 'type'],
    [
      'an unknown executor',
      { payload: 1, executor: 'gpu', queue },
      400,
      'validation_failed',
      'executor',
    ],
    [
      'delay and run_at together',
      { payload: 1, delay_sec: 5, run_at: '2030-01-01T00:00:00Z', queue },
      400,
      'validation_failed',
      'run_at',
    ],
    [
      'a run_at that is not RFC 3339',
      { payload: 1, run_at: 'tomorrow', queue },
      400,
      'validation_failed',
      'run_at',
    ],
    ['a body that is an array', [1, 2], 400, 'validation_failed', undefined],
    [
      'a payload over 64 KiB',
      { payload: 'x'.repeat(64 * 1024), queue },
      413,
      'payload_too_large',
      'payload',
    ],
  ];
  for (const [what, body, status, code, field] of cases) {
    it(`refuses ${what}`, async () => expectRefused(await submit(body), status, code, field));
  }

  it('accepts a payload of exactly 64 KiB serialised', async () => {
    const res = await submit({ payload: 'x'.repeat(64 * 1024 - 2), queue });
    expect(res.status).toBe(201);
  });

  it('refuses malformed JSON', async () => {
    await expectRefused(await api('POST', '/jobs', '{"payload": "x",', {}), 400, 'invalid_json');
  });

  it('refuses a body that is not JSON with 415', async () => {
    await expectRefused(
      await api('POST', '/jobs', 'payload=x', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      415,
      'unsupported_media_type',
      'Content-Type',
    );
  });

  it('refuses a body far over the limit with 413 before parsing it', async () => {
    await expectRefused(
      await api('POST', '/jobs', JSON.stringify({ payload: 'y'.repeat(300 * 1024) })),
      413,
      'body_too_large',
    );
  });

  it('refuses a bad idempotency key', async () => {
    await expectRefused(
      await submit({ payload: 1, queue }, { 'x-idempotency-key': 'ü'.repeat(3) }),
      400,
      'validation_failed',
      'X-Idempotency-Key',
    );
  });

  it('created nothing for any refused request', async () => {
    const list = await api('GET', `/jobs?queue=${queue}`);
    expect(list.body.total).toBe(1); // the one 64 KiB job accepted above
  });
});

describe('validation of reads', () => {
  it('refuses a malformed job id with 400 and an unknown one with 404', async () => {
    await expectRefused(await api('GET', '/jobs/not-an-id'), 400, 'validation_failed', 'id');
    await expectRefused(
      await api('GET', '/jobs/default.01ARZ3NDEKTSV4RRFFQ69G5FAV'),
      404,
      'job_not_found',
    );
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=abc', 'limit'],
    ['offset=-1', 'offset'],
    ['status=done', 'status'],
    ['priority=7', 'priority'],
    ['queue=UPPER', 'queue'],
    ['colour=red', 'colour'],
  ])('refuses GET /jobs?%s naming %s', async (query, field) => {
    await expectRefused(await api('GET', `/jobs?${query}`), 400, 'validation_failed', field);
  });

  it('answers an unknown route with a JSON 404', async () => {
    await expectRefused(await api('GET', '/nope'), 404, 'route_not_found');
  });
});
