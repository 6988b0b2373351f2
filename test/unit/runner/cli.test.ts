// The command line itself, on both builds: usage errors (exit 2), raw payload text the executors
// never produce (invalid JSON), --self-test and --help.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeExecutor } from '../../../worker-node/src/executors/native';
import { WasmExecutor } from '../../../worker-node/src/executors/wasm';
import { ensureNativeRunner, ensureWasmModule } from './build';

let native: NativeExecutor;
let wasm: WasmExecutor;

beforeAll(async () => {
  native = new NativeExecutor({ binaryPath: await ensureNativeRunner() });
  wasm = await WasmExecutor.create({ wasmPath: ensureWasmModule() });
}, 300_000);

afterAll(async () => {
  await native?.close();
  await wasm?.close();
});

const CASES: { name: string; args: string[]; exit: number; error?: string; stdout?: string }[] = [
  { name: 'no flags', args: [], exit: 2, error: 'usage_error' },
  { name: 'flag without value', args: ['--job-id'], exit: 2, error: 'usage_error' },
  { name: 'unknown flag', args: ['--job-id', 'a', '--bogus', 'x'], exit: 2, error: 'usage_error' },
  { name: 'duplicate flag', args: ['--job-id', 'a', '--type', 'echo', '--type', 'fib', '--payload', '1'], exit: 2, error: 'usage_error' },
  { name: 'empty job id', args: ['--job-id', '', '--payload', '1'], exit: 2, error: 'usage_error' },
  { name: 'self-test with other flags', args: ['--self-test', '--job-id', 'a'], exit: 2, error: 'usage_error' },
  { name: 'invalid JSON', args: ['--job-id', 'a', '--type', 'fib', '--payload', '{"n":'], exit: 3, error: 'bad_payload' },
  { name: 'invalid UTF-8 escape', args: ['--job-id', 'a', '--payload', '"\\ud800"'], exit: 3, error: 'bad_payload' },
  { name: 'unknown type wins over bad JSON', args: ['--job-id', 'a', '--type', 'x', '--payload', '{'], exit: 4, error: 'unknown_type' },
  { name: 'type defaults to echo', args: ['--job-id', 'a', '--payload', '[1,2]'], exit: 0, stdout: '{"type":"echo","result":[1,2]}\n' },
  { name: 'self-test', args: ['--self-test'], exit: 0, stdout: '{"self_test":"ok"}\n' },
  { name: 'help', args: ['--help'], exit: 0 },
];

describe('runner CLI on both builds', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const [n, w] = await Promise.all([native.runArgs(c.args, 10_000), wasm.runArgs(c.args, 10_000)]);
      expect({ exit: w.exit_code, stdout: w.stdout, stderr: w.stderr }).toEqual({ exit: n.exit_code, stdout: n.stdout, stderr: n.stderr });
      expect(n.exit_code).toBe(c.exit);
      if (c.error) expect(JSON.parse(n.stderr).error.code).toBe(c.error);
      if (c.stdout !== undefined) expect(n.stdout).toBe(c.stdout);
    });
  }
});
