/**
 * The worker node as a real process (tsx worker-node/src/main.ts), driven through its HTTP surface
 * exactly as the scheduler would, with a recording stand-in for the API (fake-api.ts). Jobs here are
 * `shell` jobs running `sleep`/`echo`, so timing is under the test's control, plus one `echo` job
 * through the real runner executors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchedJob } from '../../../src/protocol/dispatch';
import {
  fakeJobId,
  freePort,
  rawPost,
  signedPost,
  startNodeProcess,
  waitFor,
  type NodeProcess,
} from '../../e2e/node-process';
import { startFakeApi, type FakeApi } from './fake-api';

const TOKEN = 'unit-test-worker-token';

function job(argv: string[], over: Partial<DispatchedJob> = {}): DispatchedJob {
  return {
    job_id: fakeJobId(),
    attempt: 1,
    token: `tok-${Math.random().toString(36).slice(2)}`,
    queue: 'default',
    type: 'shell',
    payload: { argv },
    timeout_sec: 30,
    executor: null,
    ...over,
  };
}

async function boot(api: FakeApi, env: Record<string, string> = {}): Promise<NodeProcess> {
  const node = startNodeProcess({
    port: await freePort(),
    env: {
      API_URL: api.url,
      WORKER_TOKEN: TOKEN,
      HEARTBEAT_INTERVAL_SEC: '0.3',
      ALLOW_SHELL: '1',
      SHELL_ALLOWLIST: 'sleep,echo',
      DRAIN_TIMEOUT_SEC: '20',
      ...env,
    },
  });
  await node.waitForLog('worker_registered', undefined, 30_000);
  return node;
}

describe('worker node HTTP surface', () => {
  let api: FakeApi;
  let node: NodeProcess;
  const run = (jobs: DispatchedJob[], opts?: Parameters<typeof signedPost>[3]) =>
    signedPost(`${node.url}/run`, { worker_id: node.id, jobs }, TOKEN, opts);
  const health = async () =>
    (await (await fetch(`${node.url}/health`)).json()) as { leases: number; running: number };
  const resultsFor = (jobId: string) =>
    api.of('result').filter((c) => c.path === `/jobs/${encodeURIComponent(jobId)}/result`);

  beforeAll(async () => {
    api = await startFakeApi({ token: TOKEN, heartbeatIntervalSec: 5 });
    node = await boot(api, { WORKER_CAPACITY: '1' });
  }, 60_000);
  afterAll(async () => {
    await node?.kill();
    await api?.close();
  });
  // Every test leaves the node idle for the next one.
  afterEach(async () => {
    await waitFor('the node to be idle', async () => (await health()).leases === 0, 20_000);
  });

  it('registers with the token and its capabilities, then heartbeats', async () => {
    const [reg] = api.of('register');
    expect(reg.auth).toBe(`Bearer ${TOKEN}`);
    expect(reg.body).toMatchObject({
      id: node.id,
      url: node.url,
      capacity: 1,
      queues: ['default'],
    });
    expect(reg.body.executors.length).toBeGreaterThan(0);
    await waitFor('two heartbeats', () => api.of('heartbeat').length >= 2);
    expect(api.of('heartbeat')[0].body).toEqual({
      running: [],
      draining: false,
      queues: ['default'],
    });
    expect(JSON.stringify(node.logs)).not.toContain(TOKEN);
  });

  it('GET /health describes the node', async () => {
    const res = await fetch(`${node.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: node.id,
      running: 0,
      capacity: 1,
      draining: false,
    });
  });

  it('refuses unsigned, tampered, stale and wrongly-keyed dispatches with 401', async () => {
    const body = { worker_id: node.id, jobs: [job(['echo', 'never'])] };
    const unsigned = await rawPost(`${node.url}/run`, JSON.stringify(body));
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error).toMatchObject({
      code: 'bad_signature',
      details: { reason: 'missing' },
    });

    const tampered = await signedPost(`${node.url}/run`, body, TOKEN, {
      tamper: (raw) => raw.replace('never', 'pwned'),
    });
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.details.reason).toBe('mismatch');

    const stale = await signedPost(`${node.url}/run`, body, TOKEN, {
      timestampMs: Date.now() - 6 * 60_000,
    });
    expect(stale.status).toBe(401);
    expect(stale.body.error.details.reason).toBe('stale');

    const otherKey = await signedPost(`${node.url}/run`, body, 'some-other-secret');
    expect(otherKey.status).toBe(401);

    const cancel = await rawPost(
      `${node.url}/cancel`,
      JSON.stringify({
        worker_id: node.id,
        jobs: [{ job_id: body.jobs[0].job_id, attempt: 1, token: 't' }],
      }),
    );
    expect(cancel.status).toBe(401);
    expect(node.events('job_received')).toHaveLength(0);
  });

  it('refuses a signed body of the wrong shape (400) or for another node (409)', async () => {
    const bad = await signedPost(
      `${node.url}/run`,
      { worker_id: node.id, jobs: [{ job_id: 'nope' }] },
      TOKEN,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.message).toMatch(/^jobs\.0\./);
    expect((await signedPost(`${node.url}/run`, '{not json', TOKEN)).status).toBe(400);
    const wrong = await signedPost(
      `${node.url}/run`,
      { worker_id: 'someone-else', jobs: [job(['echo', 'x'])] },
      TOKEN,
    );
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe('wrong_worker');
  });

  it('runs an accepted job and reports its result', async () => {
    const j = job(['echo', 'hello from the node']);
    const res = await run([j]);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: [j.job_id], rejected: [] });
    const [report] = await waitFor('the result', () =>
      resultsFor(j.job_id).length ? resultsFor(j.job_id) : undefined,
    );
    expect(report.auth).toBe(`Bearer ${TOKEN}`);
    expect(report.body).toMatchObject({
      worker_id: node.id,
      attempt: 1,
      token: j.token,
      exit_code: 0,
      stdout: 'hello from the node\n',
      executor: null,
      timed_out: false,
    });
    const started = await node.waitForLog('job_started', (l) => l.job_id === j.job_id);
    expect(started).toMatchObject({ attempt: 1, worker_id: node.id });
    await node.waitForLog('result_reported', (l) => l.job_id === j.job_id);
  });

  it('runs runner job types through the executors', async () => {
    const j = job([], { type: 'echo', payload: { hello: 'runner' } });
    expect((await run([j])).status).toBe(202);
    const [report] = await waitFor(
      'the result',
      () => (resultsFor(j.job_id).length ? resultsFor(j.job_id) : undefined),
      30_000,
    );
    expect(report.body.exit_code).toBe(0);
    expect(['native', 'wasm']).toContain(report.body.executor);
    expect(report.body.stdout).toContain('runner');
  });

  it('refuses replays: the same request again, or the same attempt re-signed, is a duplicate', async () => {
    const j = job(['echo', 'once']);
    const body = { worker_id: node.id, jobs: [j] };
    const raw = JSON.stringify(body);
    const ts = Date.now();
    const { signRequest } = await import('../../../src/core/signature');
    const headers = {
      'X-Cloud-Timestamp': String(ts),
      'X-Cloud-Signature': await signRequest(
        TOKEN,
        { method: 'POST', path: '/run', body: raw },
        ts,
      ),
    };
    expect((await rawPost(`${node.url}/run`, raw, headers)).status).toBe(202);
    await waitFor('the result', () => resultsFor(j.job_id).length);

    const replay = await rawPost(`${node.url}/run`, raw, headers);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({
      accepted: [],
      rejected: [{ job_id: j.job_id, reason: 'duplicate' }],
    });
    const resigned = await run([j]);
    expect(resigned.body.rejected).toEqual([{ job_id: j.job_id, reason: 'duplicate' }]);
    expect(node.events('job_started').filter((l) => l.job_id === j.job_id)).toHaveLength(1);
    expect(resultsFor(j.job_id)).toHaveLength(1);
  });

  it('takes only what fits: the rest is rejected busy, and 429 when nothing fits', async () => {
    const long = job(['sleep', '30']);
    const extra = job(['echo', 'x']);
    const first = await run([long, extra]);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({
      accepted: [long.job_id],
      rejected: [{ job_id: extra.job_id, reason: 'busy' }],
    });
    await node.waitForLog('job_started', (l) => l.job_id === long.job_id);

    const full = await run([extra]);
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBeTruthy();
    expect(full.body.rejected).toEqual([{ job_id: extra.job_id, reason: 'busy' }]);

    // The heartbeat carries the lease while the job runs.
    await waitFor('a heartbeat with the lease', () =>
      api
        .of('heartbeat')
        .some((h) =>
          h.body.running.some((l: any) => l.job_id === long.job_id && l.token === long.token),
        ),
    );

    // Cancel: a lease that does not match (wrong token) is ignored; the right one is killed, not reported.
    const wrong = await signedPost(
      `${node.url}/cancel`,
      { worker_id: node.id, jobs: [{ job_id: long.job_id, attempt: 1, token: 'wrong' }] },
      TOKEN,
    );
    expect(wrong.body).toEqual({ cancelled: [] });
    const cancel = await signedPost(
      `${node.url}/cancel`,
      { worker_id: node.id, jobs: [{ job_id: long.job_id, attempt: 1, token: long.token }] },
      TOKEN,
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ cancelled: [long.job_id] });
    await node.waitForLog('job_cancelled', (l) => l.job_id === long.job_id);
    await waitFor('the slot to free', async () => (await health()).running === 0);
    expect(resultsFor(long.job_id)).toHaveLength(0);
  });

  it('kills a job that outlives its timeout and reports it as timed out', async () => {
    const j = job(['sleep', '30'], { timeout_sec: 1 });
    await run([j]);
    const [report] = await waitFor(
      'the result',
      () => (resultsFor(j.job_id).length ? resultsFor(j.job_id) : undefined),
      10_000,
    );
    expect(report.body).toMatchObject({ timed_out: true, exit_code: 137 });
    expect(report.body.duration_ms).toBeGreaterThanOrEqual(900);
    expect(report.body.duration_ms).toBeLessThan(5_000);
  });

  it('kills a lease the heartbeat answer revokes, without reporting it', async () => {
    const j = job(['sleep', '30']);
    await run([j]);
    await node.waitForLog('job_started', (l) => l.job_id === j.job_id);
    api.script('heartbeat', {
      status: 200,
      body: {
        status: 'active',
        drain: false,
        kill: [{ job_id: j.job_id, attempt: 1, token: j.token }],
        heartbeat_interval_sec: 5,
      },
    });
    await node.waitForLog(
      'job_killed',
      (l) => l.job_id === j.job_id && l.reason === 'lease_revoked',
    );
    expect(resultsFor(j.job_id)).toHaveLength(0);
  });

  it('beats without `queues` from then on when an older API refuses the field', async () => {
    const before = api.of('heartbeat').length;
    api.script('heartbeat', {
      status: 400,
      body: {
        error: {
          code: 'validation_failed',
          message: 'invalid body: queues: unknown field',
          details: { in: 'body', problems: [{ field: 'queues', message: 'unknown field' }] },
        },
      },
    });
    await node.waitForLog('heartbeat_queues_refused');
    const retried = await waitFor('a heartbeat without queues', async () =>
      api
        .of('heartbeat')
        .slice(before)
        .find((h) => !('queues' in h.body)),
    );
    expect(retried.body).toMatchObject({ running: expect.any(Array), draining: false });
    expect(api.of('heartbeat').slice(before)[0].body.queues).toEqual(['default']);
  });

  it('retries a result report through API errors and drops it on 409', async () => {
    const j = job(['echo', 'retry me']);
    api.script(
      'result',
      { status: 503, body: { error: { code: 'unavailable', message: 'try later' } } },
      {
        status: 409,
        body: { error: { code: 'stale_attempt', message: 'attempt 1 is not current' } },
      },
    );
    await run([j]);
    const refused = await node.waitForLog('result_refused', (l) => l.job_id === j.job_id, 10_000);
    expect(refused).toMatchObject({ status: 409, code: 'stale_attempt', attempt: 1 });
    expect(resultsFor(j.job_id)).toHaveLength(2);
  });

  it('re-registers when the API has forgotten it, voiding its leases', async () => {
    const j = job(['sleep', '30']);
    await run([j]);
    await node.waitForLog('job_started', (l) => l.job_id === j.job_id);
    const registrations = api.of('register').length;
    api.script('heartbeat', {
      status: 404,
      body: { error: { code: 'worker_unknown', message: 'reaped' } },
    });
    await node.waitForLog(
      'job_killed',
      (l) => l.job_id === j.job_id && l.reason === 'reregistered',
    );
    await waitFor('a second registration', () => api.of('register').length > registrations);
    expect(resultsFor(j.job_id)).toHaveLength(0);
  });

  it('drains when the scheduler asks, and resumes when it stops asking', async () => {
    api.script('heartbeat', {
      status: 200,
      body: { status: 'draining', drain: true, kill: [], heartbeat_interval_sec: 5 },
    });
    await node.waitForLog('worker_draining', (l) => l.reason === 'scheduler');
    const res = await run([job(['echo', 'x'])]);
    expect(res.status).toBe(503);
    await node.waitForLog('worker_resumed');
    expect((await run([job(['echo', 'y'])])).status).toBe(202);
  });
});

describe('worker node lifecycle', () => {
  let api: FakeApi;
  const nodes: NodeProcess[] = [];
  beforeAll(async () => {
    api = await startFakeApi({ token: TOKEN, heartbeatIntervalSec: 5 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await api.close();
  });

  it('SIGTERM: refuses new work (503), finishes and reports the running job, deregisters, exits 0', async () => {
    const node = await boot(api);
    nodes.push(node);
    const j = job(['sleep', '1.5']);
    await signedPost(`${node.url}/run`, { worker_id: node.id, jobs: [j] }, TOKEN);
    await node.waitForLog('job_started', (l) => l.job_id === j.job_id);
    node.signal('SIGTERM');
    await node.waitForLog('worker_draining');
    const refused = await signedPost(
      `${node.url}/run`,
      { worker_id: node.id, jobs: [job(['echo', 'late'])] },
      TOKEN,
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(refused.body.error.code).toBe('draining');
    await waitFor('a draining heartbeat', () =>
      api.of('heartbeat').some((h) => h.path.includes(node.id) && h.body.draining === true),
    );
    expect(await node.exited).toBe(0);
    const report = api.of('result').find((c) => c.path.includes(j.job_id));
    expect(report?.body).toMatchObject({ exit_code: 0, attempt: 1 });
    const dereg = api.of('deregister').find((c) => c.path === `/workers/${node.id}`);
    expect(dereg?.auth).toBe(`Bearer ${TOKEN}`);
    const order = api.calls
      .filter((c) => c.path.includes(j.job_id) || c.method === 'DELETE')
      .map((c) => c.method);
    expect(order).toEqual(['POST', 'DELETE']);
  }, 60_000);

  it('SIGTERM past the drain deadline: kills the job without reporting it, still deregisters and exits 0', async () => {
    const node = await boot(api, { DRAIN_TIMEOUT_SEC: '0.5' });
    nodes.push(node);
    const j = job(['sleep', '30']);
    await signedPost(`${node.url}/run`, { worker_id: node.id, jobs: [j] }, TOKEN);
    await node.waitForLog('job_started', (l) => l.job_id === j.job_id);
    node.signal('SIGTERM');
    expect(await node.exited).toBe(0);
    expect(node.events('job_killed').find((l) => l.job_id === j.job_id)?.reason).toBe(
      'drain_deadline',
    );
    expect(api.of('result').filter((c) => c.path.includes(j.job_id))).toHaveLength(0);
    expect(api.of('deregister').some((c) => c.path === `/workers/${node.id}`)).toBe(true);
  }, 60_000);

  // Issue 12, item 5: a group signal arrives more than once (relayed by npm); only a deliberate
  // later one forces exit, and that still kills the job and deregisters.
  it('a second signal within a moment is the same one; a later one forces exit, killing the job and deregistering', async () => {
    const node = await boot(api, { DRAIN_TIMEOUT_SEC: '60' });
    nodes.push(node);
    const j = job(['sleep', '30']);
    await signedPost(`${node.url}/run`, { worker_id: node.id, jobs: [j] }, TOKEN);
    await node.waitForLog('job_started');
    node.signal('SIGTERM');
    await node.waitForLog('worker_draining');
    node.signal('SIGINT');
    await node.waitForLog('signal_coalesced');
    expect(node.exitCode).toBeNull();
    // The pause is the scenario: a second Ctrl-C that someone means.
    await new Promise((r) => setTimeout(r, 1_200));
    node.signal('SIGINT');
    expect(await node.exited).toBe(1);
    expect(node.events('job_killed').find((l) => l.job_id === j.job_id)?.reason).toBe(
      'forced_exit',
    );
    expect(api.of('result').filter((c) => c.path.includes(j.job_id))).toHaveLength(0);
    expect(api.of('deregister').some((c) => c.path === `/workers/${node.id}`)).toBe(true);
  }, 60_000);

  it('exits 1 when the API refuses its token', async () => {
    const node = startNodeProcess({
      port: await freePort(),
      env: { API_URL: api.url, WORKER_TOKEN: 'not-the-right-token' },
    });
    nodes.push(node);
    expect(await node.exited).toBe(1);
    expect(node.events('worker_refused')[0]?.error).toMatch(/401/);
    expect(JSON.stringify(node.logs)).not.toContain('not-the-right-token');
  }, 60_000);

  it('waits for an API that is not up yet, and registers once it is', async () => {
    const apiPort = await freePort();
    const node = startNodeProcess({
      port: await freePort(),
      env: {
        API_URL: `http://127.0.0.1:${apiPort}`,
        WORKER_TOKEN: TOKEN,
        HEARTBEAT_INTERVAL_SEC: '0.3',
        LOG_LEVEL: 'debug',
      },
    });
    nodes.push(node);
    await node.waitForLog('register_retry', (l) => Number(l.tries) >= 2, 30_000);
    const late = await startFakeApi({ token: TOKEN, port: apiPort });
    try {
      await node.waitForLog('worker_registered', undefined, 20_000);
      expect(node.exitCode).toBeNull();
    } finally {
      await node.kill();
      await late.close();
    }
  }, 60_000);
});
