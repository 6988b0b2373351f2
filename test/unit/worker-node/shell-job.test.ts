import { describe, expect, it } from 'vitest';
import {
  runShellJob,
  scrubbedEnv,
  type ShellPolicy,
} from '../../../worker-node/src/jobs/shell-job';

const allowed: ShellPolicy = {
  allowShell: true,
  allowlist: ['echo', 'env', 'sleep', 'sh', 'head', 'false', '/bin/echo'],
};
const run = (argv: unknown, policy = allowed, timeoutMs = 10_000, signal?: AbortSignal) =>
  runShellJob({ payload: { argv }, timeoutMs, signal }, policy);

describe('shell job', () => {
  it('is refused, permanently (exit 3), when ALLOW_SHELL is off', async () => {
    const r = await run(['echo', 'hi'], { allowShell: false, allowlist: ['echo'] });
    expect(r.exit_code).toBe(3);
    expect(JSON.parse(r.stderr).error.code).toBe('shell_disabled');
  });

  it.each([
    [['rm', '-rf', '/tmp/x']],
    [['/usr/bin/echo', 'hi']], // a path does not match a bare-name entry
    [['./echo']],
    [['ECHO']],
  ])('refuses a program outside the allowlist: %j', async (argv) => {
    const r = await run(argv);
    expect(r.exit_code).toBe(3);
    expect(JSON.parse(r.stderr).error).toMatchObject({
      code: 'program_not_allowed',
      message: expect.stringContaining('argv[0]'),
    });
  });

  it.each([[[]], ['echo hi'], [[1, 2]], [null]])(
    'refuses a bad payload %j with a message naming the field',
    async (argv) => {
      const r = await run(argv);
      expect(r.exit_code).toBe(3);
      expect(JSON.parse(r.stderr).error).toMatchObject({
        code: 'bad_payload',
        message: expect.stringContaining('payload'),
      });
    },
  );

  it('runs an allowlisted program with argv as an array: no shell ever sees it', async () => {
    const r = await run(['echo', 'a;b', '$(id)', '*']);
    expect(r).toMatchObject({
      exit_code: 0,
      stdout: 'a;b $(id) *\n',
      executor: null,
      timed_out: false,
      cancelled: false,
    });
  });

  it('matches an absolute path entry exactly', async () => {
    expect((await run(['/bin/echo', 'x'])).stdout).toBe('x\n');
  });

  it('passes through the program exit code, and 128 + n for death by signal n', async () => {
    expect((await run(['false'])).exit_code).toBe(1);
    expect((await run(['sh', '-c', 'exit 7'])).exit_code).toBe(7);
    expect((await run(['sh', '-c', 'kill -TERM $$'])).exit_code).toBe(143);
  });

  it("keeps the node's secrets out of the child's environment", async () => {
    const env = {
      PATH: process.env.PATH,
      WORKER_TOKEN: 'tok-123456',
      AWS_SECRET_ACCESS_KEY: 'x',
      GITHUB_TOKEN: 'y',
      MY_API_KEY: 'z',
      HARMLESS: 'ok',
    };
    const r = await runShellJob({ payload: { argv: ['env'] }, timeoutMs: 10_000 }, allowed, env);
    expect(r.stdout).toContain('HARMLESS=ok');
    expect(r.stdout).not.toMatch(/TOKEN|SECRET|KEY|tok-123456/);
    expect(Object.keys(scrubbedEnv(env)).sort()).toEqual(['HARMLESS', 'PATH']);
  });

  it('kills the program (and what it spawned) on timeout', async () => {
    const started = Date.now();
    const r = await run(['sh', '-c', 'sleep 30 & sleep 30'], allowed, 300);
    expect(r).toMatchObject({ timed_out: true, exit_code: 137 });
    expect(JSON.parse(r.stderr.trim().split('\n').pop()!).error.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops on abort and says it was cancelled', async () => {
    const ac = new AbortController();
    const pending = run(['sleep', '30'], allowed, 60_000, ac.signal);
    setTimeout(() => ac.abort('cancelled'), 100);
    expect(await pending).toMatchObject({ cancelled: true, timed_out: false, exit_code: 137 });
  });

  it('bounds the output it keeps', async () => {
    const r = await run(['head', '-c', '3000000', '/dev/zero']);
    expect(r.exit_code).toBe(0);
    expect(r.stdout.length).toBeLessThan(1024 * 1024 + 100);
    expect(r.stdout).toMatch(/truncated 1951424 bytes\]$/);
  });

  it('reports a program that cannot be started', async () => {
    const r = await run(['/nonexistent/prog'], {
      allowShell: true,
      allowlist: ['/nonexistent/prog'],
    });
    expect(r.exit_code).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('spawn_failed');
  });
});
