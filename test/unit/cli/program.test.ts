/** The command line → HTTP request mapping, the printed output and the exit codes, against a fake API. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/program';
import { apiError, fakeIo, makeJob, type Route } from './fake-io';

const ID = 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q';
const ok =
  (body: unknown, status = 200) =>
  () => ({ status, body });

async function cli(argv: string[], route: Route, env?: Record<string, string>) {
  const io = fakeIo(route, env);
  const code = await runCli(argv, io);
  return { code, io, req: io.requests[0] };
}

describe('submit', () => {
  it('posts the payload and flags, with the key and the idempotency key as headers', async () => {
    const { code, io, req } = await cli(
      [
        'submit',
        '{"limit":10}',
        '--type',
        'primes',
        '-p',
        'high',
        '--queue',
        'batch',
        '--timeout',
        '60',
        '--max-retries',
        '0',
        '--delay',
        '5',
        '--idempotency-key',
        'order-42',
      ],
      ok({ job: makeJob({ type: 'primes', priority: 0 }) }, 201),
      { CLOUD_API_KEY: 'ck_env' },
    );
    expect(code).toBe(0);
    expect(req.method).toBe('POST');
    expect(req.url.href).toBe('http://api.test/jobs');
    expect(req.body).toEqual({
      payload: { limit: 10 },
      type: 'primes',
      priority: 0,
      queue: 'batch',
      timeout_sec: 60,
      max_retries: 0,
      delay_sec: 5,
    });
    expect(req.headers).toMatchObject({
      authorization: 'Bearer ck_env',
      'x-idempotency-key': 'order-42',
      'content-type': 'application/json',
    });
    expect(io.stdout).toBe(`submitted ${ID} (queued, type primes, priority 0, queue default)\n`);
  });

  it('sends --depends-on as depends_on', async () => {
    const { req } = await cli(
      [
        'submit',
        'x',
        '--depends-on',
        'default.01ARZ3NDEKTSV4RRFFQ69G5FAV',
        'default.01ARZ3NDEKTSV4RRFFQ69G5FAW',
      ],
      ok({ job: makeJob() }, 201),
    );
    expect(req.body).toEqual({
      payload: 'x',
      depends_on: ['default.01ARZ3NDEKTSV4RRFFQ69G5FAV', 'default.01ARZ3NDEKTSV4RRFFQ69G5FAW'],
    });
  });

  it('lets --api-url and --api-key win over the environment', async () => {
    const { req } = await cli(
      ['--api-url', 'http://other.test/', 'submit', 'x', '--api-key', 'ck_flag'],
      ok({ job: makeJob() }, 201),
      { CLOUD_API_KEY: 'ck_env' },
    );
    expect(req.url.href).toBe('http://other.test/jobs');
    expect(req.headers.authorization).toBe('Bearer ck_flag');
  });

  it('--wait prints the result and exits 0 when the job succeeds', async () => {
    const states = [
      makeJob({ status: 'running', attempts: 1 }),
      makeJob({
        status: 'succeeded',
        attempts: 1,
        result: {
          executor: 'native',
          exit_code: 0,
          duration_ms: 3,
          output: { type: 'echo', result: 'hi' },
          stderr: '',
          timed_out: false,
        },
      }),
    ];
    const { code, io } = await cli(['submit', 'hi', '--wait'], (r) =>
      r.method === 'POST'
        ? { status: 201, body: { job: makeJob() } }
        : { status: 200, body: { job: states.shift() } },
    );
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual({ type: 'echo', result: 'hi' });
    expect(io.stderr).toMatch(/queued .*\n.*running .*\n.*succeeded /);
  });

  it('--wait exits 1 when the job fails, with its error on stderr; --json still prints the job', async () => {
    const failed = makeJob({ status: 'failed', attempts: 1, error: 'runner exited 1: job_failed' });
    const { code, io } = await cli(['submit', '--type', 'fail', '--wait', '--json'], (r) =>
      r.method === 'POST'
        ? { status: 201, body: { job: makeJob() } }
        : { status: 200, body: { job: failed } },
    );
    expect(code).toBe(1);
    expect(JSON.parse(io.stdout).job.status).toBe('failed');
    expect(io.stderr).toContain('failed after 1 attempt: runner exited 1: job_failed');
  });
});

describe('reading and acting on jobs', () => {
  it('list maps filters to the query and --json prints the answer as it is', async () => {
    const page = { jobs: [makeJob()], total: 1, limit: 5, offset: 0 };
    const { code, io, req } = await cli(
      [
        'list',
        '--status',
        'failed',
        '--priority',
        'low',
        '--type',
        'fail',
        '--queue',
        'q1',
        '--limit',
        '5',
        '--json',
      ],
      ok(page),
    );
    expect(code).toBe(0);
    expect(Object.fromEntries(req.url.searchParams)).toEqual({
      status: 'failed',
      priority: '2',
      type: 'fail',
      queue: 'q1',
      limit: '5',
    });
    expect(JSON.parse(io.stdout)).toEqual(page);
  });

  it('list prints a table and a footer', async () => {
    const { io } = await cli(['list'], ok({ jobs: [makeJob()], total: 7, limit: 1, offset: 0 }));
    expect(io.stdout).toMatch(
      /^ID +STATUS +TYPE +QUEUE +PRI +TRIES +CREATED\ndefault\.\S+ +queued +echo +default +1 +0\/4 +10\.0s ago\n1-1 of 7 jobs\n$/,
    );
  });

  it.each([
    [['get', ID], 'GET', `/jobs/${ID}`],
    [['cancel', ID], 'POST', `/jobs/${ID}/cancel`],
    [['replay', ID], 'POST', `/jobs/${ID}/replay`],
    [['dead-letters', '--queue', 'q1', '-n', '3'], 'GET', '/dead-letters?queue=q1&limit=3'],
    [['workers'], 'GET', '/workers'],
    [['stats'], 'GET', '/stats'],
    [['schedules'], 'GET', '/schedules'],
    [['schedules', 'pause', 'sch_1'], 'POST', '/schedules/sch_1/pause'],
    [['schedules', 'resume', 'sch_1'], 'POST', '/schedules/sch_1/resume'],
    [['schedules', 'delete', 'sch_1'], 'DELETE', '/schedules/sch_1'],
  ])('%j is %s %s', async (argv, method, path) => {
    const { req } = await cli(argv, ok({}));
    expect(req.method).toBe(method);
    expect(req.url.pathname + req.url.search).toBe(path);
  });

  it('exits 1 with the API message on a 4xx', async () => {
    const { code, io } = await cli(['cancel', ID], () =>
      apiError(409, 'job_not_cancellable', 'the job is succeeded'),
    );
    expect(code).toBe(1);
    expect(io.stderr).toBe('cloud: 409 job_not_cancellable: the job is succeeded\n');
    expect(io.stdout).toBe('');
  });
});

describe('schedules and keys', () => {
  it('schedules create posts the cron and the job', async () => {
    const { req } = await cli(
      [
        'schedules',
        'create',
        '--cron',
        '*/5 * * * *',
        '--timezone',
        'Europe/Paris',
        '--type',
        'sleep',
        '{"ms":10}',
      ],
      ok({ schedule: { id: 'sch_1', next_run_at: null } }, 201),
    );
    expect(req.body).toEqual({
      cron: '*/5 * * * *',
      timezone: 'Europe/Paris',
      job: { payload: { ms: 10 }, type: 'sleep' },
    });
  });

  it('keys use the admin token, never the API key, and print only the key on stdout', async () => {
    const { code, io, req } = await cli(
      ['keys', 'create', '--tenant', 'acme', '--name', 'ci'],
      ok({ key: 'ck_abc_secret', api_key: { id: 'abc', tenant: 'acme' } }, 201),
      { CLOUD_ADMIN_TOKEN: 'admin-secret', CLOUD_API_KEY: 'ck_env' },
    );
    expect(code).toBe(0);
    expect(req.url.pathname).toBe('/admin/keys');
    expect(req.body).toEqual({ tenant: 'acme', name: 'ci' });
    expect(req.headers.authorization).toBe('Bearer admin-secret');
    expect(io.stdout).toBe('ck_abc_secret\n');
  });

  it('node-keys create sends the binding, queues and labels with the admin token; only the key goes to stdout', async () => {
    const view = {
      id: 'abcdefghijkm',
      name: null,
      node_id: 'gpu-1',
      node_prefix: null,
      queues: ['gpu', 'default'],
      labels: { gpu: 'a100', zone: '*' },
      created_at: '2026-01-01T00:00:00.000Z',
      revoked_at: null,
    };
    const created = await cli(
      [
        'node-keys',
        'create',
        '--node-id',
        'gpu-1',
        '--queues',
        'gpu, default',
        '--labels',
        'gpu=a100,zone=*',
      ],
      ok({ key: 'nk_abcdefghijkm_secret', node_key: view }, 201),
      { CLOUD_ADMIN_TOKEN: 'admin-secret' },
    );
    expect(created.code).toBe(0);
    expect(created.req.url.pathname).toBe('/admin/node-keys');
    expect(created.req.body).toEqual({
      node_id: 'gpu-1',
      queues: ['gpu', 'default'],
      labels: { gpu: 'a100', zone: '*' },
    });
    expect(created.req.headers.authorization).toBe('Bearer admin-secret');
    expect(created.io.stdout).toBe('nk_abcdefghijkm_secret\n');

    const listed = await cli(['node-keys'], ok({ node_keys: [view] }), {
      CLOUD_ADMIN_TOKEN: 'admin-secret',
    });
    expect(listed.req.url.pathname).toBe('/admin/node-keys');
    expect(listed.io.stdout).toMatch(/abcdefghijkm +gpu-1 +gpu,default +gpu=a100,zone=\* +live/);

    const revoked = await cli(
      ['node-keys', 'revoke', 'abcdefghijkm'],
      ok({ revoked: true, deregistered: ['gpu-1'], requeued: 2 }),
      { CLOUD_ADMIN_TOKEN: 'admin-secret' },
    );
    expect(revoked.req.method).toBe('DELETE');
    expect(revoked.req.url.pathname).toBe('/admin/node-keys/abcdefghijkm');
    expect(revoked.io.stdout).toBe(
      'revoked abcdefghijkm; nodes deregistered: gpu-1; jobs re-queued: 2\n',
    );
  });

  it('keys without an admin token exit 4 before sending anything', async () => {
    const { code, io } = await cli(['keys', 'list'], ok({}));
    expect(code).toBe(4);
    expect(io.requests).toHaveLength(0);
  });
});

describe('exit codes', () => {
  it.each([
    ['--help', ['--help'], 0],
    ['an unknown command', ['frobnicate'], 2],
    ['an unknown flag', ['list', '--bogus'], 2],
    ['a bad flag value', ['submit', '--timeout', 'soon'], 2],
    ['a missing argument', ['get'], 2],
    ['a bad API URL', ['--api-url', 'not a url', 'list'], 2],
  ])('%s exits %i without calling the API', async (_, argv, code) => {
    const r = await cli(argv, ok({}));
    expect(r.code).toBe(code);
    expect(r.io.requests).toHaveLength(0);
  });

  it.each([
    ['refused credentials', () => apiError(401, 'unauthorized', 'the API key is not valid'), 4],
    ['an overloaded API', () => apiError(503, 'storage_unavailable', 'try later'), 3],
    [
      'an unreachable API',
      () => new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      3,
    ],
    ['a non-JSON answer', () => ({ status: 200 }), 3],
  ])('%s exits %i', async (_, route, code) => {
    const r = await cli(['list'], route as Route);
    expect(r.code).toBe(code);
    expect(r.io.stderr).toMatch(/^cloud: /);
  });
});
