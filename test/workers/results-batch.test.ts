/**
 * Wire version 2 in workerd, against the real API, Durable Object and D1: `POST /workers/:id/results`
 * (one verdict per result, in order; its refusals), the results a lease request carries (applied
 * before jobs are leased), a pull node's prefetch, and the version the registration answer names.
 * Every test uses its own queues, so a lease sees only that test's jobs.
 */
import { describe, expect, it } from 'vitest';
import { api, submit, WORKER_TOKEN } from './helpers';
import { sha256Hex } from '../../src/core/api-key';
import { parseNodeKey } from '../../src/core/node-key';
import { signRequest } from '../../src/core/signature';
import { MAX_RESULTS_PER_REQUEST } from '../../src/protocol/results';

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
/** A well-formed id of a job no scheduler holds. */
const SOME_JOB = 'nowhere.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q';
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

interface Leased {
  job_id: string;
  attempt: number;
  token: string;
}

async function registerPull(queues: string[], capacity = 1, extra = {}) {
  const id = fresh('node');
  const body = { id, mode: 'pull', capacity, executors: ['native'], queues, ...extra };
  const res = await api('POST', '/workers/register', body, auth);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id, answer: res.body };
}
const lease = (id: string, body: Record<string, unknown>) =>
  api('POST', `/workers/${id}/lease`, { wait_sec: 0, ...body }, auth);
const report = (id: string, results: unknown[]) =>
  api('POST', `/workers/${id}/results`, { results }, auth);
const jobOf = async (id: string) => (await api('GET', `/jobs/${id}`)).body.job;
const item = (l: Leased, extra: Record<string, unknown> = {}) => ({
  job_id: l.job_id,
  attempt: l.attempt,
  token: l.token,
  exit_code: 0,
  stdout: '{"ok":true}',
  stderr: '',
  duration_ms: 2,
  executor: 'native',
  ...extra,
});

async function submitMany(queue: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await submit({ type: 'echo', payload: { i }, queue })).body.job.id);
  return ids;
}

/** Leases until `count` jobs are held (a submission reaches its queue's object asynchronously). */
async function leaseAll(id: string, count: number, body = {}): Promise<Leased[]> {
  const held: Leased[] = [];
  const deadline = Date.now() + 10_000;
  while (held.length < count && Date.now() < deadline) {
    const res = await lease(id, { max_jobs: count - held.length, wait_sec: 1, ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    held.push(...res.body.jobs);
  }
  expect(held).toHaveLength(count);
  return held;
}

describe('POST /workers/:id/results', () => {
  it('answers one verdict per result, in order, across queues: accepted or stale_attempt', async () => {
    const [qa, qb] = [fresh('ra'), fresh('rb')];
    const { id } = await registerPull([qa, qb], 3);
    await submitMany(qa, 2);
    await submitMany(qb, 1);
    const held = await leaseAll(id, 3);
    const [a1, a2] = held.filter((l) => l.job_id.startsWith(`${qa}.`));
    const [b1] = held.filter((l) => l.job_id.startsWith(`${qb}.`));
    const res = await report(id, [
      item(b1),
      item(a1, { token: 'not-the-token' }),
      item(a2, { exit_code: 1, stderr: 'boom' }),
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results).toEqual([
      { job_id: b1.job_id, verdict: 'accepted', status: 'succeeded' },
      expect.objectContaining({ job_id: a1.job_id, verdict: 'refused', code: 'stale_attempt' }),
      // No retries left by default policy or a retry: either way, accepted and no longer running.
      expect.objectContaining({ job_id: a2.job_id, verdict: 'accepted' }),
    ]);
    expect(await jobOf(b1.job_id)).toMatchObject({ status: 'succeeded', worker_id: id });
    expect((await jobOf(a1.job_id)).status).toBe('running');
    // A result reported twice: the second is stale, as POST /jobs/:id/result would answer 409.
    const again = await report(id, [item(b1)]);
    expect(again.body.results[0]).toMatchObject({ verdict: 'refused', code: 'stale_attempt' });
  });

  it('refuses a bad item with 400 naming its field, results.3.attempt', async () => {
    const { id } = await registerPull([fresh('bad')]);
    const good = { job_id: SOME_JOB, attempt: 1, token: 't' };
    const res = await report(id, [item(good), item(good), item(good), item(good, { attempt: 0 })]);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toEqual([
      'results.3.attempt',
    ]);
  });

  it.each([
    ['an empty list', [], 'results'],
    ['an item naming its worker (the path does)', [{ worker_id: 'x' }], 'results.0.worker_id'],
  ])('refuses %s with 400 naming the field', async (_what, results, field) => {
    const { id } = await registerPull([fresh('val')]);
    const body =
      results.length === 0
        ? []
        : [{ ...item({ job_id: SOME_JOB, attempt: 1, token: 't' }), ...results[0] }];
    const res = await report(id, body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
  });

  it(`refuses more than ${MAX_RESULTS_PER_REQUEST} results with 400 naming results`, async () => {
    const { id } = await registerPull([fresh('many')]);
    const one = item({ job_id: SOME_JOB, attempt: 1, token: 't' });
    const res = await report(
      id,
      Array.from({ length: MAX_RESULTS_PER_REQUEST + 1 }, () => one),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems[0].field).toBe('results');
  });

  it('refuses a body over its bound with 413', async () => {
    const { id } = await registerPull([fresh('big')]);
    const one = item(
      { job_id: SOME_JOB, attempt: 1, token: 't' },
      { stdout: 'x'.repeat(1024 * 1024) },
    );
    const res = await report(id, [one, one, one, one, one]);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBeDefined();
  });

  it('answers 404 worker_unknown for a node that is not registered', async () => {
    await registerPull([fresh('known')]);
    const res = await report('ghost-node', [item({ job_id: SOME_JOB, attempt: 1, token: 't' })]);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('worker_unknown');
  });

  it("takes one signature for the whole batch from a node key, and refuses another node's path", async () => {
    const [mine, other, queue] = [fresh('me'), fresh('other'), fresh('keyed')];
    const issued = await api(
      'POST',
      '/admin/node-keys',
      { node_id: mine, queues: [queue] },
      { authorization: 'Bearer test-admin-token-0123456789' },
    );
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const key: string = issued.body.key;
    const signed = async (path: string, body: unknown, signedBody?: string) => {
      const text = JSON.stringify(body);
      const ts = Date.now();
      const sig = await signRequest(
        await sha256Hex(parseNodeKey(key)!.secret),
        { method: 'POST', path, body: signedBody ?? text },
        ts,
      );
      return api('POST', path, text, {
        authorization: `Bearer ${key}`,
        'x-cloud-timestamp': String(ts),
        'x-cloud-signature': sig,
      });
    };
    const reg = await signed('/workers/register', {
      id: mine,
      mode: 'pull',
      queues: [queue],
      capacity: 2,
      protocol: 2,
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    await submitMany(queue, 2);
    const held: Leased[] = [];
    // Bounded: a submission reaches its queue's object asynchronously.
    for (let tries = 0; held.length < 2 && tries < 10; tries++) {
      const l = await signed(`/workers/${mine}/lease`, { wait_sec: 1, queues: [queue] });
      expect(l.status, JSON.stringify(l.body)).toBe(200);
      held.push(...l.body.jobs);
    }
    const body = { results: held.map((l) => item(l)) };
    const tampered = await signed(
      `/workers/${mine}/results`,
      body,
      JSON.stringify({ results: [] }),
    );
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.code).toBe('bad_signature');
    const elsewhere = await signed(`/workers/${other}/results`, body);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.code).toBe('node_id_refused');
    const ok = await signed(`/workers/${mine}/results`, body);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.results.map((v: { verdict: string }) => v.verdict)).toEqual([
      'accepted',
      'accepted',
    ]);
  });

  it('needs the worker token', async () => {
    const res = await api('POST', '/workers/anyone/results', { results: [] });
    expect(res.status).toBe(401);
  });
});

describe('the pull exchange', () => {
  it('applies the results a lease request carries before leasing: the freed slot takes the next job', async () => {
    const queue = fresh('ex');
    const { id } = await registerPull([queue], 1);
    const ids = await submitMany(queue, 2);
    const [first] = await leaseAll(id, 1);
    // Full: without the result, a lease gets nothing.
    expect((await lease(id, {})).body.jobs).toEqual([]);
    const res = await lease(id, { results: [item(first)], wait_sec: 5 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results).toEqual([
      { job_id: first.job_id, verdict: 'accepted', status: 'succeeded' },
    ]);
    expect(res.body.jobs.map((j: Leased) => j.job_id)).toEqual([
      ids.find((x) => x !== first.job_id),
    ]);
    expect((await jobOf(first.job_id)).status).toBe('succeeded');
  });

  it('leases up to capacity plus prefetch, and refuses more', async () => {
    const queue = fresh('pf');
    const { id } = await registerPull([queue], 1);
    await submitMany(queue, 3);
    const held = await leaseAll(id, 2, { prefetch: 1 });
    expect(new Set(held.map((l) => l.job_id)).size).toBe(2);
    // Both leases held: the third job waits for one of them.
    expect((await lease(id, { prefetch: 1 })).body.jobs).toEqual([]);
    const over = await lease(id, { max_jobs: 3, prefetch: 1 });
    expect(over.status).toBe(400);
    expect(over.body.error.details.problems[0]).toEqual({
      field: 'max_jobs',
      message: "at most the node's capacity plus prefetch, 2",
    });
    const tooMuch = await lease(id, { prefetch: 9 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error.details.problems[0].field).toBe('prefetch');
  });
});

describe('wire versions', () => {
  it('answers the lower of the node and API versions at registration', async () => {
    expect((await registerPull([fresh('v2')], 1, { protocol: 2 })).answer.protocol).toBe(2);
    expect((await registerPull([fresh('v9')], 1, { protocol: 9 })).answer.protocol).toBe(3);
    expect((await registerPull([fresh('v1')], 1)).answer.protocol).toBe(1);
  });
});
