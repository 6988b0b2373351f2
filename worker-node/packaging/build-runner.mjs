#!/usr/bin/env node
// The native runner of an installed cloud-worker: CMake on the C++ sources shipped in the package
// (wasm-runner/, nlohmann/json vendored), built into wasm-runner/build/runner, where the node looks
// by default. It runs as the package's postinstall and, when that did not run (`npm install
// --ignore-scripts`, or an npm that skips install scripts), once on the node's first start. It never
// fails: without cmake or a compiler, or when the build breaks, the node runs jobs on the shipped
// runner.wasm. A marker file records that a build was tried, so a machine without a compiler does
// not retry at every start; delete wasm-runner/build to try again (after installing cmake and g++).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const source = `${root}wasm-runner`;
const build = `${source}/build`;
export const BINARY = `${build}/runner`;
const MARKER = `${build}/.attempted`;

const has = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/** Builds the runner unless it exists or was tried before; returns whether it exists now. */
export function buildRunner(say = (line) => process.stderr.write(`cloud-worker: ${line}\n`)) {
  if (existsSync(BINARY)) return true;
  if (existsSync(MARKER)) return false;
  try {
    mkdirSync(build, { recursive: true });
    writeFileSync(MARKER, `${new Date().toISOString()}\n`);
  } catch (err) {
    say(`cannot write ${build} (${err.message}): jobs run on runner.wasm`);
    return false;
  }
  const cxx = process.env.CXX ?? 'c++';
  if (!has('cmake', ['--version']) || !has(cxx, ['--version'])) {
    say(
      'cmake or a C++ compiler is missing: jobs run on runner.wasm (see README, "Native runner")',
    );
    return false;
  }
  say('building the native runner (cmake, once)...');
  const steps = [
    ['cmake', ['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release']],
    ['cmake', ['--build', build, '--target', 'runner', '-j2']],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) {
      say(
        `native build failed: jobs run on runner.wasm\n${(r.stderr || r.stdout || '').slice(-2000)}`,
      );
      return false;
    }
  }
  say(`native runner built: ${BINARY}`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildRunner();
