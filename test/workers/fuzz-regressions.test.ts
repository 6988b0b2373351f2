/**
 * Minimal reproductions of the bugs the API fuzz suites found (fuzz-jobs, fuzz-raw). Each test states
 * the expected behaviour and fails until the bug is fixed; the fuzz properties leave these inputs out
 * meanwhile (KNOWN_* in test/fuzz-support and fuzz-raw.test.ts), so that they keep finding new ones.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_AUTH, json, raw } from '../fuzz-support/api-client';
import { deepJson } from '../fuzz-support/arbitraries';
import { assertErrorShape } from '../fuzz-support/error-shape';

const Q = 'fuzz-regress';
const jobTotal = async () =>
  (await raw({ method: 'GET', path: '/jobs?limit=1', headers: ADMIN_AUTH })).body.total as number;

describe('fuzz regressions', () => {
  it('refuses a payload nested 3000 levels deep with a 4xx, not a 500 (zod z.json() recursion)', async () => {
    const before = await jobTotal();
    for (const body of [
      `{"payload":${deepJson(3000, 'array')},"queue":"${Q}"}`,
      `{"payload":${deepJson(10_000, 'object')},"queue":"${Q}"}`,
    ]) {
      const res = await raw({ method: 'POST', path: '/jobs', body });
      assertErrorShape('POST /jobs deep payload', res);
      expect(res.status).toBe(400);
    }
    const sched = await raw({
      method: 'POST',
      path: '/schedules',
      body: `{"cron":"0 0 1 1 *","job":{"payload":${deepJson(3000, 'array')}}}`,
    });
    assertErrorShape('POST /schedules deep payload', sched);
    expect(await jobTotal()).toBe(before);
  });

  it('names an empty unknown key as a non-empty field', async () => {
    const res = await json('POST', '/jobs', { payload: 1, queue: Q, '': 1 });
    expect(res.status).toBe(400);
    const fields = res.body.error.details.problems.map((p: { field: string }) => p.field);
    expect(fields).toHaveLength(1);
    expect(fields[0]).not.toBe('');
  });

  it('refuses a body that is not valid UTF-8 instead of storing U+FFFD in its place', async () => {
    const enc = new TextEncoder();
    const bytes = (head: string, tail: string) =>
      new Uint8Array([...enc.encode(head), 0xff, ...enc.encode(tail)]);
    const before = await jobTotal();
    const job = await raw({
      method: 'POST',
      path: '/jobs',
      body: bytes('{"payload":"a', `","queue":"${Q}"}`),
    });
    expect(job.status, JSON.stringify(job.body)).toBe(400);
    expect(job.body.error.code).toBe('invalid_json');
    expect(await jobTotal()).toBe(before);
    const key = await raw({
      method: 'POST',
      path: '/admin/keys',
      body: bytes('{"tenant":"fuzz-utf8","name":"H', '"}'),
      headers: ADMIN_AUTH,
    });
    expect(key.status, JSON.stringify(key.body)).toBe(400);
  });
});
