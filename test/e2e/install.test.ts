/**
 * Issue 18, "Done when": the worker node as something to install. `npm run build:node`'s artefact,
 * built in a temporary folder and installed with npm into another prefix, holds no wrangler, test or
 * browser package; its `cloud-worker --help` lists every setting; the systemd unit verifies against
 * the installed command; and the installed node registers with a stack and runs a `primes` job.
 * Installing builds the native runner where cmake and a compiler exist (they do wherever the suite
 * runs: scripts/setup.sh), so the node must offer it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../worker-node/src/config';
import { freePort, REPO_ROOT, startNodeProcess, type NodeProcess } from './node-process';
import { startStack, type Stack } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'cloud-install-'));
const prefix = join(dir, 'prefix');
const bin = join(prefix, 'bin', 'cloud-worker');
const installed = join(prefix, 'lib', 'node_modules', 'cloud-worker');
let tgz = '';
let stack: Stack | undefined;
let node: NodeProcess | undefined;
let firstStart: NodeProcess | undefined;

function run(cmd: string, args: string[], cwd = REPO_ROOT, timeout = 600_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const filesUnder = (root: string): string[] =>
  readdirSync(root, { recursive: true, encoding: 'utf8' }).map((f) =>
    relative(root, join(root, f)),
  );

beforeAll(() => {
  tgz = run('npm', ['run', '--silent', 'build:node', '--', '--out', join(dir, 'build')]).split(
    '\n',
  )[0];
  // The tarball's only dependency is Node itself: nothing is fetched, so this works offline too.
  run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tgz], dir);
}, 900_000);

afterAll(async () => {
  await node?.kill();
  await firstStart?.kill();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('installable worker node', () => {
  it('installs one package with no dependency: no wrangler, test or browser packages', () => {
    expect(tgz).toMatch(/cloud-worker-\d+\.\d+\.\d+\.tgz$/);
    expect(readdirSync(join(prefix, 'lib', 'node_modules'))).toEqual(['cloud-worker']);
    const files = filesUnder(installed);
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    const unwanted =
      /wrangler|miniflare|workerd|vitest|vite|playwright|chromium|tsx|esbuild|typescript|eslint|prettier|fast-check|bullmq/i;
    expect(files.filter((f) => unwanted.test(f))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/cloud-worker.mjs',
        'worker-node/src/main.mjs',
        'wasm-runner/dist/runner.wasm',
        'wasm-runner/third_party/nlohmann-json/include/nlohmann/json.hpp',
        'cloud-worker.service',
        'THIRD_PARTY_NOTICES.md',
      ]),
    );
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.bin).toEqual({ 'cloud-worker': 'bin/cloud-worker.mjs' });
  });

  it('cloud-worker --help lists every setting, as a flag and as an environment variable', () => {
    const help = run(bin, ['--help'], dir);
    for (const name of SETTING_NAMES)
      expect(help).toContain(`--${name.toLowerCase().replace(/_/g, '-')}, ${name} `);
  });

  it('the systemd unit verifies with ExecStart at the installed command', () => {
    const present = !spawnSync('systemd-analyze', ['--version']).error;
    if (!present && process.env.CI !== 'true') return;
    const unit = join(dir, 'cloud-worker.service');
    writeFileSync(
      unit,
      readFileSync(join(installed, 'cloud-worker.service'), 'utf8').replace(
        /^ExecStart=\S+/m,
        `ExecStart=${bin}`,
      ),
    );
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('registers with the API and runs a primes job, on the runner built at install', async () => {
    stack = await startStack();
    const port = await freePort();
    node = startNodeProcess({
      port,
      id: 'installed-node',
      program: { path: bin, cwd: dir },
      env: { API_URL: stack.api, WORKER_TOKEN: stack.token, HEARTBEAT_INTERVAL_SEC: '1' },
    });
    await node.waitForLog('worker_registered', undefined, 120_000);
    const listed = (await stack.workers()).find((w) => w.id === 'installed-node');
    expect(listed?.executors).toEqual(expect.arrayContaining(['native', 'wasm']));

    const job = await stack.submit({ type: 'primes', payload: { limit: 1000 } });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', worker_id: 'installed-node' });
    expect(done.result).toMatchObject({ exit_code: 0, executor: 'native' });
    expect(JSON.stringify(done.result?.output)).toContain('168'); // pi(1000) = 168
  }, 300_000);

  it('builds the native runner on its first start when install scripts did not run', async () => {
    const other = join(dir, 'prefix-no-scripts');
    const args = ['install', '-g', '--prefix', other, '--ignore-scripts', '--no-audit', tgz];
    run('npm', [...args, '--no-fund'], dir);
    const runner = join(
      other,
      'lib',
      'node_modules',
      'cloud-worker',
      'wasm-runner',
      'build',
      'runner',
    );
    expect(existsSync(runner)).toBe(false);
    firstStart = startNodeProcess({
      port: await freePort(),
      id: 'first-start-node',
      program: { path: join(other, 'bin', 'cloud-worker'), cwd: dir },
      env: { API_URL: stack!.api, WORKER_TOKEN: stack!.token, HEARTBEAT_INTERVAL_SEC: '1' },
    });
    await firstStart.waitForLog('worker_registered', undefined, 300_000);
    expect(firstStart.stderr.join('')).toContain('native runner built');
    expect(existsSync(runner)).toBe(true);
    const listed = (await stack!.workers()).find((w) => w.id === 'first-start-node');
    expect(listed?.executors).toEqual(expect.arrayContaining(['native', 'wasm']));
  }, 400_000);
});
