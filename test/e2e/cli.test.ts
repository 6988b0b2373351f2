/**
 * `cloud`, the command line, against the real stack: wrangler dev, one worker node, the real runner.
 * Every call is the real executable (`node bin/cloud.mjs`) in a child process, so what is checked is
 * what a shell script sees: stdout, stderr and the exit code.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from './node-process';
import { startStack, type NodeProcess, type Stack } from './harness';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
let stack: Stack;
let node: NodeProcess;

beforeAll(async () => {
  stack = await startStack({ vars: { ADMIN_TOKEN } });
  node = await stack.startNode();
});
afterAll(async () => stack?.stop());

interface Run {
  code: number;
  out: string;
  err: string;
}

/** The CLI as a child process, with only the CLOUD_* variables given here (none from the caller's shell). */
function cloud(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CLOUD_')),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/cloud.mjs', ...args],
      {
        cwd: REPO_ROOT,
        env: { ...base, NO_COLOR: '1', CLOUD_API_URL: stack.api, ...env },
        timeout: 90_000,
      },
      (err, out, errText) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, out, err: errText });
      },
    );
  });
}

const json = (r: Run) => {
  try {
    return JSON.parse(r.out);
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${r.code}):\n${r.out}\nstderr:\n${r.err}`,
    );
  }
};

describe('cloud CLI', () => {
  it('workers shows the node', async () => {
    const r = await cloud(['workers']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ID +STATUS +RUNNING +HEARTBEAT/);
    expect(r.out).toContain(node.id);
    expect(
      json(await cloud(['workers', '--json'])).workers.map((w: { id: string }) => w.id),
    ).toContain(node.id);
  });

  it('submit --depends-on waits for the named job; a failed dependency makes --wait exit 1', async () => {
    const first = json(await cloud(['submit', '{"ms":300}', '--type', 'sleep', '--json'])).job;
    const r = await cloud(['submit', '"after"', '--depends-on', first.id, '--wait']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ type: 'echo', result: 'after' });
    const started = Date.parse((await stack.job(first.id)).finished_at!);
    const jobs = json(await cloud(['list', '--json', '--type', 'echo'])).jobs as {
      payload: unknown;
      started_at: string;
    }[];
    expect(Date.parse(jobs.find((j) => j.payload === 'after')!.started_at)).toBeGreaterThanOrEqual(
      started,
    );

    // The failing job waits for a slow one, so it cannot have failed before the last submission.
    const slow = json(await cloud(['submit', '{"ms":3000}', '--type', 'sleep', '--json'])).job;
    const failing = json(
      await cloud([
        'submit',
        '{"code":3}',
        '--type',
        'fail',
        '--max-retries',
        '0',
        '--depends-on',
        slow.id,
        '--json',
      ]),
    ).job;
    const doomed = await cloud(['submit', 'x', '--depends-on', failing.id, '--wait']);
    expect([doomed.code, doomed.err]).toEqual([
      1,
      expect.stringContaining(`dependency ${failing.id} failed`),
    ]);
  });

  it('submit --wait follows the job and prints its result, exit 0', async () => {
    const r = await cloud(['submit', '{"greeting":"hi"}', '--wait']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ type: 'echo', result: { greeting: 'hi' } });
    expect(r.err).toMatch(/succeeded/);
  });

  it('a failing job exits 1 with --wait, lands in dead-letters and can be replayed', async () => {
    const r = await cloud([
      'submit',
      '--type',
      'fail',
      '--payload',
      '{"code":1}',
      '--max-retries',
      '0',
      '--wait',
      '--json',
    ]);
    expect(r.code, r.err).toBe(1);
    const failed = json(r).job;
    expect(failed.status).toBe('failed');
    expect(r.err).toContain(`job ${failed.id} failed`);

    const dead = await cloud(['dead-letters', '--type', 'fail', '--json']);
    expect(dead.code, dead.err).toBe(0);
    expect(json(dead).jobs.map((j: { id: string }) => j.id)).toContain(failed.id);

    const replayed = await cloud(['replay', failed.id, '--json']);
    expect(replayed.code, replayed.err).toBe(0);
    expect(json(replayed).job).toMatchObject({ replay_of: failed.id, type: 'fail' });
  });

  it('get, list and cancel print JSON with --json; a second cancel exits 1', async () => {
    const submitted = await cloud([
      'submit',
      'later',
      '--delay',
      '600',
      '--queue',
      'cli',
      '--json',
    ]);
    expect(submitted.code, submitted.err).toBe(0);
    const id = json(submitted).job.id;

    const cancelled = await cloud(['cancel', id, '--json']);
    expect(cancelled.code, cancelled.err).toBe(0);
    expect(json(cancelled).job.status).toBe('cancelled');

    const got = await cloud(['get', id, '--json']);
    expect(json(got).job).toMatchObject({ id, status: 'cancelled', payload: 'later' });

    const listed = await cloud(['list', '--queue', 'cli', '--status', 'cancelled', '--json']);
    expect(json(listed)).toMatchObject({ total: 1, jobs: [{ id }] });

    const again = await cloud(['cancel', id]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('409');
  });

  it('exits 2 on a bad flag, 3 when the API is unreachable, 4 on a bad key', async () => {
    const bad = await cloud(['list', '--no-such-flag']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown option');

    const down = await cloud(['list'], { CLOUD_API_URL: `http://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(3);
    expect(down.err).toContain('cannot reach the API');

    const badKey = await cloud(['list', '--api-key', 'ck_aaaaaaaaaaaa_notavalidsecret']);
    expect(badKey.code).toBe(4);
    expect(badKey.err).toContain('401');
  });

  it('keys create makes a key the CLI can use; revoked, it exits 4', async () => {
    const admin = { CLOUD_ADMIN_TOKEN: ADMIN_TOKEN };
    const created = await cloud(['keys', 'create', '--tenant', 'acme', '--name', 'cli-e2e'], admin);
    expect(created.code, created.err).toBe(0);
    const key = created.out.trim();
    expect(key).toMatch(/^ck_[a-z2-9]{12}_[A-Za-z0-9_-]{43}$/);

    const mine = await cloud(['submit', 'from acme', '--json'], { CLOUD_API_KEY: key });
    expect(json(mine).job.tenant).toBe('acme');

    const listed = await cloud(['keys', 'list', '--tenant', 'acme'], admin);
    expect(listed.out).toMatch(/acme +live/);
    expect(listed.out).not.toContain(key);

    expect(
      (await cloud(['keys', 'list'], { CLOUD_ADMIN_TOKEN: 'wrong-admin-token-0123' })).code,
    ).toBe(4);
    expect((await cloud(['keys', 'revoke', key.split('_')[1]], admin)).code).toBe(0);
    expect((await cloud(['list'], { CLOUD_API_KEY: key })).code).toBe(4);
  });

  it('schedules create, list and delete', async () => {
    const created = await cloud([
      'schedules',
      'create',
      '--cron',
      '0 0 1 1 *',
      '--name',
      'cli-yearly',
      '--type',
      'sleep',
      '{"ms":1}',
      '--json',
    ]);
    expect(created.code, created.err).toBe(0);
    const schedule = json(created).schedule;
    expect(schedule).toMatchObject({
      name: 'cli-yearly',
      status: 'active',
      job: { type: 'sleep', payload: { ms: 1 } },
    });

    const listed = await cloud(['schedules', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(new RegExp(`${schedule.id} +cli-yearly +0 0 1 1 \\* +UTC +active`));

    const deleted = await cloud(['schedules', 'delete', schedule.id]);
    expect(deleted.code, deleted.err).toBe(0);
    expect(
      json(await cloud(['schedules', 'list', '--json'])).schedules.map((s: { id: string }) => s.id),
    ).not.toContain(schedule.id);
  });
});
