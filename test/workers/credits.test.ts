/**
 * Wire version 3 in workerd, against the real API, Durable Objects and D1: the node's credits on
 * heartbeats, results requests and lease requests (their validation, each 400 naming its field), the
 * cap they put on each queue's offer, the standing the answers carry, and a push node's results
 * exchange, whose answer carries the leases a dispatch would have pushed. Each test has its own queues.
 */
import { describe, expect, it } from 'vitest';
import { api, submit, WORKER_TOKEN } from './helpers';

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

async function register(queues: string[], capacity: number, mode: 'push' | 'pull') {
  const id = fresh('node');
  const body = {
    id,
    capacity,
    executors: ['native'],
    queues,
    protocol: 3,
    ...(mode === 'pull' ? { mode } : { url: 'http://127.0.0.1:9' }),
  };
  const res = await api('POST', '/workers/register', body, auth);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.protocol).toBe(3);
  return id;
}

async function submitMany(queue: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    expect((await submit({ type: 'echo', payload: { i }, queue })).status).toBe(201);
}

const fields = (res: { body: { error: { details: { problems: { field: string }[] } } } }) =>
  res.body.error.details.problems.map((p) => p.field);

/** Waits until the queue's depth shows `count` queued jobs. */
async function queued(queue: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await api('GET', `/queues/${queue}`);
    if (res.status === 200 && res.body.depth >= count) return;
    if (Date.now() > deadline) throw new Error(`${queue}: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('credits: validation', () => {
  it.each([
    ['a negative credit', { q: -1 }, 'credits.q'],
    ['a fractional credit', { q: 1.5 }, 'credits.q'],
    ['a credit over the bound', { q: 5000 }, 'credits.q'],
    ['not an object', [1], 'credits'],
  ])('a heartbeat with %s is 400 naming %s', async (_what, credits, field) => {
    const id = await register([fresh('hv')], 1, 'push');
    const res = await api('POST', `/workers/${id}/heartbeat`, { running: [], credits }, auth);
    expect(res.status).toBe(400);
    expect(fields(res)).toContain(field);
  });

  it('a results request with a bad credit is 400 naming it; with neither results nor credits, naming results', async () => {
    const id = await register([fresh('rv')], 1, 'push');
    const bad = await api(
      'POST',
      `/workers/${id}/results`,
      { results: [], credits: { q: -2 } },
      auth,
    );
    expect(bad.status).toBe(400);
    expect(fields(bad)).toContain('credits.q');
    const empty = await api('POST', `/workers/${id}/results`, { results: [] }, auth);
    expect(empty.status).toBe(400);
    expect(fields(empty)).toContain('results');
  });

  it('a lease request with a bad credit is 400 naming it', async () => {
    const id = await register([fresh('lv')], 1, 'pull');
    const res = await api(
      'POST',
      `/workers/${id}/lease`,
      { wait_sec: 0, credits: { q: 'x' } },
      auth,
    );
    expect(res.status).toBe(400);
    expect(fields(res)).toContain('credits.q');
  });
});

describe('credits: the offer cap', () => {
  it('a version-3 node gets nothing before its first grant, then what each queue was granted', async () => {
    const [qa, qb] = [fresh('ca'), fresh('cb')];
    const id = await register([qa, qb], 2, 'pull');
    await submitMany(qa, 2);
    await submitMany(qb, 2);
    await Promise.all([queued(qa, 2), queued(qb, 2)]);
    // Registered, no grant yet: a lease without credits finds both queues closed to it.
    const none = await api('POST', `/workers/${id}/lease`, { wait_sec: 0, max_jobs: 2 }, auth);
    expect(none.status).toBe(200);
    expect(none.body.jobs).toHaveLength(0);
    // Both slots granted to qa: both jobs come from qa, none from qb, and each queue says where it stands.
    const res = await api(
      'POST',
      `/workers/${id}/lease`,
      { wait_sec: 0, max_jobs: 2, credits: { [qa]: 2, [qb]: 0 } },
      auth,
    );
    expect(res.status).toBe(200);
    expect(res.body.jobs.map((j: { queue: string }) => j.queue)).toEqual([qa, qa]);
    expect(res.body.standing[qa]).toEqual({ queued: 0, held: 2 });
    expect(res.body.standing[qb]).toEqual({ queued: 2, held: 0 });
  });

  it('a heartbeat carries every grant and its answer every queue’s standing', async () => {
    const [qa, qb] = [fresh('ha'), fresh('hb')];
    const id = await register([qa, qb], 1, 'pull');
    await submitMany(qb, 1);
    await queued(qb, 1);
    const res = await api(
      'POST',
      `/workers/${id}/heartbeat`,
      { running: [], queues: [qa, qb], credits: { [qa]: 0, [qb]: 1 } },
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.standing).toEqual({
      [qa]: { queued: 0, held: 0 },
      [qb]: { queued: 1, held: 0 },
    });
  });
});

describe('credits: a push node’s results exchange', () => {
  it('a results request that grants a queue credits is answered with that queue’s jobs, not a push', async () => {
    const q = fresh('px');
    // Its URL goes nowhere: a push would fail; nothing is pushed before the grant, which rides the exchange.
    const id = await register([q], 2, 'push');
    await submitMany(q, 3);
    await queued(q, 3);
    const res = await api(
      'POST',
      `/workers/${id}/results`,
      { results: [], credits: { [q]: 2 } },
      auth,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results).toEqual([]);
    expect(res.body.jobs).toHaveLength(2);
    expect(res.body.jobs.every((j: { queue: string; attempt: number }) => j.queue === q)).toBe(
      true,
    );
    expect(res.body.standing[q]).toEqual({ queued: 1, held: 2 });
    // The leases are held: the jobs run on this node, first attempt.
    for (const j of res.body.jobs) {
      const job = (await api('GET', `/jobs/${j.job_id}`)).body.job;
      expect(job).toMatchObject({ status: 'running', worker_id: id, attempts: 1 });
    }
    // A result, with its grant unchanged, brings the next job back in the same answer.
    const [first] = res.body.jobs;
    const next = await api(
      'POST',
      `/workers/${id}/results`,
      {
        results: [
          {
            job_id: first.job_id,
            attempt: first.attempt,
            token: first.token,
            exit_code: 0,
            stdout: '{"ok":true}',
            stderr: '',
            duration_ms: 1,
            executor: 'native',
          },
        ],
        credits: {},
      },
      auth,
    );
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body.results[0]).toMatchObject({ verdict: 'accepted', status: 'succeeded' });
    expect(next.body.jobs).toHaveLength(1);
    expect(next.body.standing[q]).toEqual({ queued: 0, held: 2 });
  });

  it('a version-2 results request gets no jobs and no standing', async () => {
    const q = fresh('p2');
    const id = await register([q], 1, 'push');
    const res = await api(
      'POST',
      `/workers/${id}/results`,
      {
        results: [
          {
            job_id: `${q}.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q`,
            attempt: 1,
            token: 't',
            exit_code: 0,
            stdout: '',
            stderr: '',
            duration_ms: 1,
            executor: 'native',
          },
        ],
      },
      auth,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ results: [expect.objectContaining({ verdict: 'refused' })] });
  });
});
