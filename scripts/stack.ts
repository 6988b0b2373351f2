// The local stack behind `npm start`: native runner build (skipped, with one line saying why, when
// there is no toolchain), config check, D1 migrations, wrangler dev on :8787 (API_PORT), one worker
// node on :9090 (WORKER_PORT), and the dashboard URL. Ctrl-C drains the node (SIGTERM) and then
// stops wrangler.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const apiPort = Number(process.env.API_PORT ?? 8787);
const workerPort = Number(process.env.WORKER_PORT ?? 9090);
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function step(title: string, cmd: string, args: string[]): void {
  console.log(`> ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`x ${title} failed (exit ${r.status})`);
    process.exit(1);
  }
}

// The native runner is an optimisation, not a requirement: the worker node falls back to the
// committed wasm-runner/dist/runner.wasm when wasm-runner/build/runner is absent, and that build runs
// every job type. So a machine with only Node starts, and says in one line what would enable native.
function buildNativeRunner(): void {
  const missing = missingToolchain();
  if (missing.length > 0) {
    const fix = hasCommand('apt-get')
      ? `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install ${missing.join(' ')}`
      : 'install cmake and a C++17 compiler';
    console.log(
      `! no ${missing.join(', ')}: runner jobs run on WebAssembly (wasm-runner/dist/runner.wasm); for the native runner: ${fix}`,
    );
    return;
  }
  console.log('> building the native runner');
  const r = spawnSync('npm', ['run', '--silent', 'build:runner'], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0)
    console.log(
      `! building the native runner failed (exit ${r.status}): runner jobs run on WebAssembly (wasm-runner/dist/runner.wasm)`,
    );
}

// Debian package names, as the enabling command prints them. CMake looks for $CXX, then c++, g++
// and clang++, so any of those counts; its default generator on Unix needs make.
function missingToolchain(): string[] {
  const missing: string[] = [];
  if (!hasCommand('cmake')) missing.push('cmake');
  const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].filter((c): c is string => !!c);
  if (!cxx.some(hasCommand)) missing.push('g++');
  if (!hasCommand('make')) missing.push('make');
  return missing;
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' }).status === 0;
}

const checked = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(root, 'scripts', 'check-config.ts')],
  { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] },
);
if (checked.status !== 0) process.exit(1);
const config = JSON.parse(checked.stdout.toString()) as {
  vars: Record<string, string>;
  overrides: Record<string, string>;
};

if (!existsSync(join(root, 'wasm-runner', 'build', 'runner'))) buildNativeRunner();
step('applying local D1 migrations', bin('wrangler'), [
  'd1',
  'migrations',
  'apply',
  'DB',
  '--local',
]);

const children: ChildProcess[] = [];
const varArgs = Object.entries(config.overrides).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
console.log(`> starting the API (wrangler dev) on http://localhost:${apiPort}`);
const api = spawn(
  bin('wrangler'),
  ['dev', '--port', String(apiPort), '--ip', '127.0.0.1', '--test-scheduled', ...varArgs],
  {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  },
);
children.push(api);

async function waitForHealth(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) throw new Error(`wrangler dev exited with code ${api.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${apiPort}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('the API did not answer /health within 120 s');
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('> stopping: draining the worker node, then the API');
  const node = children[1];
  if (node && node.exitCode === null && node.signalCode === null) {
    const exited = new Promise((r) => node.once('exit', r));
    node.kill('SIGTERM');
    await exited;
  }
  stopApi();
  process.exit(code);
}

function stopApi(): void {
  try {
    process.kill(-api.pid!, 'SIGTERM');
  } catch {
    /* already gone */
  }
}
process.on('exit', stopApi);
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await waitForHealth();
} catch (e) {
  console.error(`x ${(e as Error).message}`);
  await stop(1);
}

console.log(`> starting a worker node on http://localhost:${workerPort}`);
// `node --import tsx` rather than the tsx wrapper, so SIGTERM reaches the node itself and it drains.
const node = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'worker-node', 'src', 'main.ts')],
  {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...env,
      API_URL: process.env.API_URL ?? `http://localhost:${apiPort}`,
      WORKER_ENDPOINT: process.env.WORKER_ENDPOINT ?? `http://localhost:${workerPort}`,
      WORKER_PORT: String(workerPort),
      WORKER_TOKEN: config.vars.WORKER_TOKEN,
      // One LOG_LEVEL for the whole stack, in any case. The node knows only debug and info, so the
      // API's trace is its debug, and the API's warn and error leave it at info.
      LOG_LEVEL: ['trace', 'debug'].includes(config.vars.LOG_LEVEL?.toLowerCase() ?? '')
        ? 'debug'
        : 'info',
    },
  },
);
children.push(node);
node.on('exit', (code) => {
  if (!stopping) {
    console.error(`x the worker node exited (code ${code})`);
    void stop(1);
  }
});

console.log(`
  API:        http://localhost:${apiPort}
  Dashboard:  http://localhost:${apiPort}/dashboard
  API docs:   http://localhost:${apiPort}/docs
  Try:        curl -s -X POST http://localhost:${apiPort}/jobs -H 'Content-Type: application/json' -d '{"payload":"hello"}'
`);
