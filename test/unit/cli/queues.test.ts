/** `cloud queues show|pause|resume|set`: the request each makes and what it prints, against a fake API. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/program';
import { apiError, fakeIo, type Route } from './fake-io';

async function cli(argv: string[], route: Route) {
  const io = fakeIo(route);
  const code = await runCli(argv, io);
  return { code, io, req: io.requests[0] };
}
const settings = (over = {}) => ({
  queue: 'mail',
  paused: false,
  concurrency_limit: null,
  ...over,
});

describe('cloud queues', () => {
  it.each([
    [['queues', 'pause', 'mail'], 'POST', '/queues/mail/pause', undefined],
    [['queues', 'resume', 'mail'], 'POST', '/queues/mail/resume', undefined],
    [
      ['queues', 'set', 'mail', '--concurrency-limit', '8'],
      'PUT',
      '/queues/mail',
      { concurrency_limit: 8 },
    ],
    [
      ['queues', 'set', 'mail', '--concurrency-limit', 'none'],
      'PUT',
      '/queues/mail',
      { concurrency_limit: null },
    ],
    [['queues', 'show', 'mail'], 'GET', '/queues/mail?limit=1', undefined],
  ])('%j is %s %s', async (argv, method, path, body) => {
    const { code, req } = await cli(argv, () => ({ status: 200, body: settings() }));
    expect(code).toBe(0);
    expect(req.method).toBe(method);
    expect(req.url.pathname + req.url.search).toBe(path);
    expect(req.body).toEqual(body);
  });

  it('prints the settings a change leaves the queue with', async () => {
    const paused = await cli(['queues', 'pause', 'mail'], () => ({
      status: 200,
      body: settings({ paused: true, concurrency_limit: 4 }),
    }));
    expect(paused.io.stdout).toBe('mail: paused, at most 4 running\n');
    const resumed = await cli(['queues', 'resume', 'mail'], () => ({
      status: 200,
      body: settings(),
    }));
    expect(resumed.io.stdout).toBe('mail: running, no cap\n');
  });

  it('show prints the state, the cap and the waiting jobs', async () => {
    const { io } = await cli(['queues', 'show', 'mail'], () => ({
      status: 200,
      body: {
        ...settings({ paused: true, concurrency_limit: 2 }),
        depth: 7,
        running: 2,
        parked_by_concurrency_key: 1,
        parked_by_rate_limit: 3,
        head: [],
      },
    }));
    expect(io.stdout).toContain('state:');
    expect(io.stdout).toMatch(/state: +paused/);
    expect(io.stdout).toMatch(/cap: +2\n/);
    expect(io.stdout).toMatch(/waiting on a rate limit: +3\n/);
  });

  it('refuses a cap that is not a positive integer or none (usage, exit 2) and asks for one', async () => {
    expect(
      (await cli(['queues', 'set', 'mail', '--concurrency-limit', '-1'], () => ({ status: 200 })))
        .code,
    ).toBe(2);
    const missing = await cli(['queues', 'set', 'mail'], () => ({ status: 200 }));
    expect(missing.code).toBe(2);
    expect(missing.io.requests).toEqual([]);
  });

  it("exits 4 (refused) with the API message when the queue is not the caller's", async () => {
    const { code, io } = await cli(['queues', 'pause', 'theirs'], () =>
      apiError(403, 'queue_owned_by_other_tenant', 'name: another tenant owns this queue'),
    );
    expect(code).toBe(4);
    expect(io.stderr).toBe(
      'cloud: 403 queue_owned_by_other_tenant: name: another tenant owns this queue\n',
    );
  });
});

describe('cloud submit --rate-limit', () => {
  it('sends the key, the limit and the period', async () => {
    const { code, req } = await cli(['submit', 'x', '--rate-limit', 'acct:eu:10/60'], () => ({
      status: 400,
      body: { error: { code: 'validation_failed', message: 'stop here' } },
    }));
    expect(code).toBe(1);
    expect(req.body).toEqual({
      payload: 'x',
      rate_limit: { key: 'acct:eu', limit: 10, period_sec: 60 },
    });
  });

  it('refuses a rate limit not of the form KEY:LIMIT/PERIOD (usage, exit 2)', async () => {
    const bad = await cli(['submit', 'x', '--rate-limit', 'acct/10'], () => ({ status: 200 }));
    expect(bad.code).toBe(2);
    expect(bad.io.requests).toEqual([]);
  });
});
