// Which executors this node offers. The native binary is preferred but optional: it is used only
// if it exists, is executable and passes --self-test on this machine; runner.wasm runs anywhere
// Node does and is the fallback.
import { access, constants, stat } from 'node:fs/promises';
import { NativeExecutor } from './native';
import { DEFAULT_BINARY_PATH, DEFAULT_WASM_PATH } from './paths';
import { ExecutorUnavailableError, type Executor, type ExecutorName } from './types';
import { WasmExecutor, type WasmExecutorOptions } from './wasm';

export interface ExecutorsOptions {
  binaryPath?: string;
  wasmPath?: string;
  // One structured line per boot-time decision worth knowing about (a fallback).
  log?: (line: object) => void;
  selfTestTimeoutMs?: number;
  maxOutputBytes?: number;
  wasm?: Pick<WasmExecutorOptions, 'idleThreads'>;
}

export interface Executors {
  readonly available: ExecutorName[];
  // The requested executor, or native when there is one and wasm otherwise.
  pick(requested?: ExecutorName | null): Executor;
  get(name: ExecutorName): Executor | undefined;
  close(): Promise<void>;
}

const SELF_TEST_OK = '{"self_test":"ok"}\n';
const DEFAULT_SELF_TEST_TIMEOUT_MS = 5000;

export async function createExecutors(opts: ExecutorsOptions = {}): Promise<Executors> {
  const log = opts.log ?? ((line: object) => process.stderr.write(`${JSON.stringify(line)}\n`));
  const binaryPath = opts.binaryPath ?? DEFAULT_BINARY_PATH;
  const wasmPath = opts.wasmPath ?? DEFAULT_WASM_PATH;
  const byName = new Map<ExecutorName, Executor>();

  const native = new NativeExecutor({ binaryPath, maxOutputBytes: opts.maxOutputBytes });
  const unusable = await nativeProblem(
    native,
    binaryPath,
    opts.selfTestTimeoutMs ?? DEFAULT_SELF_TEST_TIMEOUT_MS,
  );
  if (unusable === null) byName.set('native', native);

  try {
    byName.set(
      'wasm',
      await WasmExecutor.create({ wasmPath, maxOutputBytes: opts.maxOutputBytes, ...opts.wasm }),
    );
  } catch (err) {
    log({
      event: 'executor_unavailable',
      executor: 'wasm',
      path: wasmPath,
      reason: errorText(err),
    });
  }
  if (unusable !== null) {
    log({
      event: 'executor_fallback',
      executor: 'native',
      path: binaryPath,
      reason: unusable,
      using: [...byName.keys()],
    });
  }

  const available = (['native', 'wasm'] as const).filter((name) => byName.has(name));
  return {
    available,
    pick(requested) {
      const name = requested ?? available[0];
      const executor = name === undefined ? undefined : byName.get(name);
      if (executor === undefined) throw new ExecutorUnavailableError(name ?? 'native', available);
      return executor;
    },
    get: (name) => byName.get(name),
    close: async () => {
      await Promise.all([...byName.values()].map((e) => e.close()));
    },
  };
}

// Why the native binary cannot be used, or null when it can.
async function nativeProblem(
  native: NativeExecutor,
  path: string,
  timeoutMs: number,
): Promise<string | null> {
  try {
    if (!(await stat(path)).isFile()) return `not a file: ${path}`;
  } catch {
    return `not found: ${path}`;
  }
  try {
    await access(path, constants.X_OK);
  } catch {
    return `not executable: ${path}`;
  }
  const r = await native.runArgs(['--self-test'], timeoutMs);
  if (r.timed_out) return `self-test timed out after ${timeoutMs} ms`;
  if (r.exit_code !== 0 || r.stdout !== SELF_TEST_OK) {
    const detail = (r.stderr || r.stdout).trim().slice(0, 200);
    return `self-test failed (exit ${r.exit_code})${detail ? `: ${detail}` : ''}`;
  }
  return null;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
