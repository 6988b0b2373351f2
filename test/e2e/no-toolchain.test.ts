/**
 * The README's promise for a machine with only Node: `npm start` comes up without cmake, a C++
 * compiler, make or emcc, says so in one line, and the local node runs runner jobs on the committed
 * WebAssembly build. Checked on a clone-like copy of the tree (tracked and untracked files, no
 * wasm-runner/build), so the repository's own native build, which other tests use, is never touched
 * and cannot make this test pass by being there. node_modules is linked rather than installed: npm
 * ci is start.mjs's business on a real clone, and /work/shared/tools/fresh-clone-check covers it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, waitFor } from './node-process';

// What the fresh-clone check hides: every way CMake could find a compiler or a build tool.
const TOOLCHAIN =
  /^(cmake|ctest|cpack|c\+\+|g\+\+|gcc|cc|clang|clang\+\+|make|emcc|em\+\+|emcmake|x86_64-linux-gnu-g.*|g\+\+-.*|gcc-.*)$/;

const dir = mkdtempSync(join(tmpdir(), 'cloud-no-toolchain-'));
const repo = join(dir, 'repo');
const bin = join(dir, 'bin');
let start: ChildProcess;
let exited: Promise<unknown>;
const output: string[] = [];
let api = '';

/** A PATH of links to every command in the usual directories except the toolchain's. */
function pathWithoutToolchain(): string {
  mkdirSync(bin);
  for (const d of ['/usr/local/bin', '/usr/bin', '/bin']) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (TOOLCHAIN.test(name) || existsSync(join(bin, name))) continue;
      symlinkSync(join(d, name), join(bin, name));
    }
  }
  return bin;
}

/** The files a clone would have (plus untracked ones not ignored: the tree as it is now). */
function copyTree(): void {
  const listed = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  );
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(REPO_ROOT, file);
    // A file deleted in the work tree but not yet in a commit is still listed.
    if (!existsSync(from) || !lstatSync(from).isFile()) continue;
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    copyFileSync(from, join(repo, file));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(repo, 'node_modules'));
}

beforeAll(async () => {
  copyTree();
  expect(existsSync(join(repo, 'wasm-runner', 'build'))).toBe(false);
  const path = pathWithoutToolchain();
  const apiPort = await freePort();
  const workerPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  start = spawn('npm', ['start'], {
    cwd: repo,
    env: {
      ...process.env,
      PATH: path,
      API_PORT: String(apiPort),
      WORKER_PORT: String(workerPort),
      WRANGLER_SEND_METRICS: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so the end of the test stops npm, wrangler and the node together.
    detached: true,
  });
  exited = new Promise((r) => start.once('exit', r));
  start.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  start.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  await waitFor(
    'npm start to answer /ready',
    async () => {
      if (start.exitCode !== null)
        throw new Error(`npm start exited (${start.exitCode}):\n${output.join('')}`);
      return (await fetch(`${api}/ready`)).ok;
    },
    150_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- npm start output ---\n${output.join('')}`);
  });
}, 180_000);

afterAll(async () => {
  if (start?.pid !== undefined && start.exitCode === null) {
    try {
      process.kill(-start.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-start.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe(`npm start with no cmake, compiler, make or emcc on PATH (${basename(dir)})`, () => {
  it('says in one line that runner jobs run on WebAssembly, and how to get the native runner', () => {
    const lines = output
      .join('')
      .split('\n')
      .filter((l) => l.includes('wasm-runner/dist/runner.wasm'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^! no cmake, g\+\+, make: .*apt-get install cmake g\+\+ make$/);
    expect(existsSync(join(repo, 'wasm-runner', 'build'))).toBe(false);
  });

  it('runs a primes job to success on the wasm executor', async () => {
    const submitted = await fetch(`${api}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'primes', payload: { limit: 100_000 } }),
    });
    expect(submitted.status).toBe(201);
    const { job } = (await submitted.json()) as { job: { id: string } };
    const done = await waitFor(
      `job ${job.id} to finish`,
      async () => {
        const r = (await (await fetch(`${api}/jobs/${job.id}`)).json()) as {
          job: { status: string; result: { executor: string; output: unknown } | null };
        };
        return ['succeeded', 'failed', 'cancelled'].includes(r.job.status) ? r.job : undefined;
      },
      60_000,
      250,
    );
    expect(done.status).toBe('succeeded');
    expect(done.result?.executor).toBe('wasm');
    // 9592 primes below 100 000: the job computed, not merely exited 0.
    expect(done.result?.output).toMatchObject({ type: 'primes', result: { count: 9592 } });
  });
});
