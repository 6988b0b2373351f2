/**
 * Pull mode in workerd, against the real API, Durable Object and D1: registration rules, the long
 * poll of `POST /workers/:id/lease` (its refusals, its wait, its answer), fencing of leased jobs, and
 * the paths where a lease never reaches its node. Every test uses its own queue, so a waiting lease
 * sees only that test's jobs.
 */
import { describe, expect, it } from 'vitest';
import { api, submit, WORKER_TOKEN, waitFor } from './helpers';

const auth = { authorization: `Bearer ${WORKER_TOKEN}` };
let n = 0;
const fresh = (what: string) => `${what}-${Date.now().toString(36)}-${n++}`;

async function registerPull(queues: string[], capacity = 1, id = fresh('pull')): Promise<string> {
  const res = await api(
    'POST',
    '/workers/register',
    { id, mode: 'pull', capacity, executors: ['native'], queues },
    auth,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return id;
}
const lease = (id: string, body: Record<string, unknown> = {}) =>
  api('POST', `/workers/${id}/lease`, body, auth);
const heartbeat = (id: string, body: Record<string, unknown> = {}) =>
  api('POST', `/workers/${id}/heartbeat`, body, auth);
const jobOf = async (id: string) => (await api('GET', `/jobs/${id}`)).body.job;
const result = (jobId: string, lease: { worker_id: string; attempt: number; token: string }) =>
  api(
    'POST',
    `/jobs/${jobId}/result`,
    {
      ...lease,
      exit_code: 0,
      stdout: '{"ok":true}',
      stderr: '',
      duration_ms: 3,
      executor: 'native',
    },
    auth,
  );

describe('pull-mode registration', () => {
  it('registers a pull node without a url and lists it with its mode', async () => {
    const queue = fresh('reg');
    const id = await registerPull([queue], 2);
    const listed = (await api('GET', '/workers')).body.workers.find(
      (w: { id: string }) => w.id === id,
    );
    expect(listed).toMatchObject({
      id,
      mode: 'pull',
      url: '',
      status: 'active',
      capacity: 2,
      running: 0,
    });
  });

  it('lists a push node with mode push', async () => {
    const id = fresh('push');
    expect(
      (
        await api(
          'POST',
          '/workers/register',
          { id, url: 'http://127.0.0.1:9', queues: [fresh('pq')] },
          auth,
        )
      ).status,
    ).toBe(201);
    expect(
      (await api('GET', '/workers')).body.workers.find((w: { id: string }) => w.id === id),
    ).toMatchObject({ mode: 'push', url: 'http://127.0.0.1:9' });
  });

  it.each([
    [
      'a pull node with a url',
      { mode: 'pull', url: 'http://127.0.0.1:9' },
      /url: not allowed for a pull node/,
    ],
    ['a push node without a url', { mode: 'push' }, /url: required for a push node/],
    ['a node without mode or url (push by default)', {}, /url: required for a push node/],
    ['an unknown mode', { mode: 'poll' }, /mode:/],
  ])(
    'refuses %s with 400 naming the field',
    async (_what, extra: Record<string, unknown>, message) => {
      const res = await api(
        'POST',
        '/workers/register',
        { id: fresh('bad'), capacity: 1, ...extra },
        auth,
      );
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.details.problems[0].field).toBe(extra.mode === 'poll' ? 'mode' : 'url');
    },
  );

  it('applies no URL rules to a pull node (there is no URL to check)', async () => {
    // Registration of a pull node works whatever WORKER_URL_ALLOWLIST says: checked by the 201 above
    // and here with labels and types, which pull nodes keep like push nodes.
    const id = fresh('pull-labels');
    const res = await api(
      'POST',
      '/workers/register',
      { id, mode: 'pull', types: ['echo'], labels: { zone: 'home' }, queues: [fresh('lq')] },
      auth,
    );
    expect(res.status).toBe(201);
    expect(res.body.worker).toMatchObject({
      mode: 'pull',
      url: '',
      types: ['echo'],
      labels: { zone: 'home' },
    });
  });
});

describe('POST /workers/:id/lease refusals', () => {
  it('needs the worker token', async () => {
    const res = await api('POST', '/workers/anyone/lease', { wait_sec: 0 });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('answers 404 worker_unknown for a node that is not registered', async () => {
    await registerPull([fresh('known')]); // at least one queue exists to ask
    const res = await lease('ghost-node', { wait_sec: 0 });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('worker_unknown');
  });

  it('answers 409 not_pull_mode to a push node', async () => {
    const id = fresh('pusher');
    expect(
      (
        await api(
          'POST',
          '/workers/register',
          { id, url: 'http://127.0.0.1:9', queues: [fresh('pushq')] },
          auth,
        )
      ).status,
    ).toBe(201);
    const res = await lease(id, { wait_sec: 0 });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('not_pull_mode');
  });

  it.each([
    ['wait_sec over 30', { wait_sec: 31 }, 'wait_sec'],
    ['a negative wait_sec', { wait_sec: -1 }, 'wait_sec'],
    ['max_jobs of 0', { max_jobs: 0 }, 'max_jobs'],
    ['a fractional max_jobs', { max_jobs: 1.5 }, 'max_jobs'],
    ['an unknown field', { wait: 3 }, 'wait'],
    ['an empty queues list', { queues: [] }, 'queues'],
    ['a bad queue name', { queues: ['no spaces'] }, 'queues.0'],
  ])('refuses %s with 400 naming the field', async (_what, body, field) => {
    const id = await registerPull([fresh('val')]);
    const res = await lease(id, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
  });

  it('refuses max_jobs over the node capacity with 400 naming max_jobs', async () => {
    const id = await registerPull([fresh('cap')], 2);
    const res = await lease(id, { max_jobs: 3, wait_sec: 0 });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/max_jobs: at most the node's capacity, 2/);
    expect(res.body.error.details.problems).toEqual([
      { field: 'max_jobs', message: "at most the node's capacity, 2" },
    ]);
  });

  it('answers 503 draining to a draining node, with Retry-After', async () => {
    const id = await registerPull([fresh('drain')]);
    expect((await heartbeat(id, { running: [], draining: true })).status).toBe(200);
    const res = await lease(id, { wait_sec: 0 });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('draining');
    expect(res.headers.get('retry-after')).toBe('5');
  });
});

describe('the long poll', () => {
  it('answers with no jobs once wait_sec has passed', async () => {
    const id = await registerPull([fresh('idle')]);
    const started = Date.now();
    const res = await lease(id, { wait_sec: 0.6 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ jobs: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('hands a job submitted while it waits to the waiting request, fenced like a dispatch; a stale result is 409', async () => {
    const queue = fresh('work');
    const id = await registerPull([queue]);
    const started = Date.now();
    const pending = lease(id, { wait_sec: 20 });
    // The request must be waiting in the scheduler before the job arrives, or this tests nothing new.
    await new Promise((r) => setTimeout(r, 300));
    const job = (await submit({ type: 'echo', payload: { hello: 'pull' }, queue, timeout_sec: 30 }))
      .body.job;
    const res = await pending;
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.body.jobs).toEqual([
      {
        job_id: job.id,
        attempt: 1,
        token: expect.any(String),
        queue,
        type: 'echo',
        payload: { hello: 'pull' },
        timeout_sec: 30,
        executor: null,
        result_upload_url: expect.stringMatching(/^\/blobs\/result\//),
        // The trace the job started at submission (docs/protocol.md 1.10).
        traceparent: expect.stringMatching(new RegExp(`^00-${job.trace_id}-[0-9a-f]{16}-01$`)),
      },
    ]);
    const leased = res.body.jobs[0];
    expect(await jobOf(job.id)).toMatchObject({ status: 'running', worker_id: id, attempts: 1 });
    expect(
      (await api('GET', '/workers')).body.workers.find((w: { id: string }) => w.id === id).running,
    ).toBe(1);

    const forged = await result(job.id, { worker_id: id, attempt: 1, token: 'not-the-token' });
    expect(forged.status).toBe(409);
    expect(forged.body.error.code).toBe('stale_attempt');
    const wrongNode = await result(job.id, {
      worker_id: 'someone-else',
      attempt: 1,
      token: leased.token,
    });
    expect(wrongNode.status).toBe(409);
    const ok = await result(job.id, {
      worker_id: id,
      attempt: leased.attempt,
      token: leased.token,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ job_id: job.id, status: 'succeeded' });
    const again = await result(job.id, {
      worker_id: id,
      attempt: leased.attempt,
      token: leased.token,
    });
    expect(again.status).toBe(409);
    expect(await jobOf(job.id)).toMatchObject({ status: 'succeeded', worker_id: id });
  });

  it('answers at once when jobs are already queued, at most max_jobs of them', async () => {
    const queue = fresh('backlog');
    const id = await registerPull([queue], 3);
    const jobs = [];
    for (let i = 0; i < 3; i++)
      jobs.push((await submit({ type: 'echo', payload: { i }, queue })).body.job);
    const two = await lease(id, { max_jobs: 2, wait_sec: 20 });
    expect(two.status).toBe(200);
    expect(two.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([
      jobs[0].id,
      jobs[1].id,
    ]);
    // Two slots taken: one left, whatever the node asks for.
    const rest = await lease(id, { wait_sec: 20 });
    expect(rest.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([jobs[2].id]);
  });

  it('a newer lease request from the same node supersedes the waiting one, which ends empty', async () => {
    const queue = fresh('super');
    const id = await registerPull([queue]);
    const first = lease(id, { wait_sec: 20 });
    await new Promise((r) => setTimeout(r, 300));
    const second = lease(id, { wait_sec: 20 });
    const firstAnswer = await first;
    expect(firstAnswer.status).toBe(200);
    expect(firstAnswer.body.jobs).toEqual([]);
    const job = (await submit({ type: 'echo', payload: 1, queue })).body.job;
    expect((await second).body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([job.id]);
  });

  it('a waiting request ends empty when the node starts draining, and when it deregisters', async () => {
    const id = await registerPull([fresh('ends')]);
    const waiting = lease(id, { wait_sec: 20 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await heartbeat(id, { running: [], draining: true })).status).toBe(200);
    expect((await waiting).body).toEqual({ jobs: [] });

    const other = await registerPull([fresh('ends2')]);
    const waiting2 = lease(other, { wait_sec: 20 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await api('DELETE', `/workers/${other}`, undefined, auth)).status).toBe(200);
    expect((await waiting2).body).toEqual({ jobs: [] });
    expect((await lease(other, { wait_sec: 0 })).status).toBe(404);
  });

  it.each([
    ['max_jobs', 2, { max_jobs: 1 }],
    ['the node capacity', 1, {}],
  ])(
    'serves a node of several queues from all of them, and sends back what is over %s',
    async (_what, capacity, ask) => {
      const [qa, qb] = [fresh('multi-a'), fresh('multi-b')];
      const id = await registerPull([qa, qb], capacity);
      const a = (await submit({ type: 'echo', payload: 'a', queue: qa })).body.job;
      const b = (await submit({ type: 'echo', payload: 'b', queue: qb })).body.job;
      // Both queues hand over a job at once; only one fits, so the other goes back.
      const one = await lease(id, { ...ask, wait_sec: 5 });
      expect(one.status).toBe(200);
      expect(one.body.jobs).toHaveLength(1);
      const got = one.body.jobs[0].job_id;
      const other = got === a.id ? b : a;
      const back = await waitFor('the extra job back in its queue', async () => {
        const j = await jobOf(other.id);
        return j.status === 'queued' ? j : undefined;
      });
      expect(back.attempts).toBe(1); // it was leased once, but nothing was spent: it is not retrying
      expect(
        (await result(got, { worker_id: id, attempt: 1, token: one.body.jobs[0].token })).status,
      ).toBe(200);
      const next = await lease(id, { ...ask, wait_sec: 5 });
      expect(next.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([other.id]);
      expect(next.body.jobs[0].attempt).toBe(2);
    },
  );

  it('asks only the queues the request names, and 404 when none of them knows the node', async () => {
    const [qa, qb] = [fresh('only-a'), fresh('only-b')];
    const id = await registerPull([qa, qb]);
    const b = (await submit({ type: 'echo', payload: 'b', queue: qb })).body.job;
    expect((await lease(id, { queues: [qa], wait_sec: 0.5 })).body).toEqual({ jobs: [] });
    expect((await jobOf(b.id)).status).toBe('queued');
    expect(
      (await lease(id, { queues: [qa, qb], wait_sec: 5 })).body.jobs.map(
        (j: { job_id: string }) => j.job_id,
      ),
    ).toEqual([b.id]);
    const stranger = await lease(id, { queues: [fresh('never-registered')], wait_sec: 0 });
    expect([stranger.status, stranger.body.error.code]).toEqual([404, 'worker_unknown']);
  });

  it('a cancelled leased job is named in the next heartbeat kill list', async () => {
    const queue = fresh('cancel');
    const id = await registerPull([queue]);
    const job = (await submit({ type: 'sleep', payload: { ms: 60_000 }, queue })).body.job;
    const leased = (await lease(id, { wait_sec: 5 })).body.jobs[0];
    expect(leased.job_id).toBe(job.id);
    expect((await api('POST', `/jobs/${job.id}/cancel`)).status).toBe(200);
    const hb = await heartbeat(id, {
      running: [{ job_id: leased.job_id, attempt: leased.attempt, token: leased.token }],
    });
    expect(hb.body.kill).toEqual([
      { job_id: leased.job_id, attempt: leased.attempt, token: leased.token },
    ]);
  });

  it('a lease whose answer never reached the node goes back to the queue: its heartbeats do not list it', async () => {
    const queue = fresh('lost');
    const id = await registerPull([queue]);
    const job = (await submit({ type: 'echo', payload: 'lost', queue })).body.job;
    // The scheduler assigns the job, but (as far as the node knows) the answer was lost on the way.
    expect((await lease(id, { wait_sec: 5 })).body.jobs[0].job_id).toBe(job.id);
    // Two heartbeats in a row without it, once DISPATCH_TIMEOUT_MS (10 s) has passed since the lease.
    const requeued = await waitFor(
      'the lost lease back in the queue',
      async () => {
        await heartbeat(id, { running: [] });
        const j = await jobOf(job.id);
        return j.status === 'queued' ? j : undefined;
      },
      25_000,
    );
    expect(requeued.error).toMatch(new RegExp(`node ${id} no longer holds attempt 1`));
    const again = await lease(id, { wait_sec: 5 });
    expect(again.body.jobs[0]).toMatchObject({ job_id: job.id, attempt: 2 });
  }, 40_000);
});
