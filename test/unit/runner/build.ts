// Builds the native runner before the tests that need it. The build is incremental (a no-op when
// nothing changed) and serialised across vitest's parallel workers by a lock directory, so two
// test files never run CMake in the same build tree at once. Nothing here skips: without CMake or
// a compiler the tests fail and say what to install.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runnerDir = fileURLToPath(new URL('../../../wasm-runner/', import.meta.url));
const buildDir = `${runnerDir}build`;
const lockDir = `${buildDir}/.build-lock`; // inside the git-ignored build dir
export const NATIVE_BINARY = `${buildDir}/runner`;
export const WASM_MODULE = `${runnerDir}dist/runner.wasm`;

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function withLock<T>(fn: () => T): Promise<T> {
  const deadline = Date.now() + 5 * 60_000;
  mkdirSync(buildDir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${lockDir} (remove it if no build is running)`, {
          cause: err,
        });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

export async function ensureNativeRunner(): Promise<string> {
  if (!hasTool('cmake')) {
    throw new Error(
      'cmake is required to build wasm-runner/build/runner (apt-get install cmake g++)',
    );
  }
  return withLock(() => {
    if (!existsSync(`${buildDir}/CMakeCache.txt`)) {
      execFileSync('cmake', ['-S', runnerDir, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release'], {
        stdio: 'pipe',
      });
    }
    execFileSync('cmake', ['--build', buildDir, '-j2', '--target', 'runner'], { stdio: 'pipe' });
    return NATIVE_BINARY;
  });
}

export function ensureWasmModule(): string {
  if (!existsSync(WASM_MODULE))
    throw new Error(`${WASM_MODULE} is missing: run npm run build:wasm`);
  return WASM_MODULE;
}
