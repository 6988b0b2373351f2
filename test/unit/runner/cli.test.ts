// The command line itself, on both builds: usage errors (exit 2), raw payload text the executors
// never produce (invalid JSON), --payload-stdin, --self-test and --help.
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

const CASES: {
  name: string;
  args: string[];
  stdin?: string;
  exit: number;
  error?: string;
  stdout?: string;
  message?: string;
}[] = [
  { name: 'no flags', args: [], exit: 2, error: 'usage_error' },
  { name: 'flag without value', args: ['--job-id'], exit: 2, error: 'usage_error' },
  { name: 'unknown flag', args: ['--job-id', 'a', '--bogus', 'x'], exit: 2, error: 'usage_error' },
  {
    name: 'duplicate flag',
    args: ['--job-id', 'a', '--type', 'echo', '--type', 'fib', '--payload', '1'],
    exit: 2,
    error: 'usage_error',
  },
  { name: 'empty job id', args: ['--job-id', '', '--payload', '1'], exit: 2, error: 'usage_error' },
  {
    name: 'self-test with other flags',
    args: ['--self-test', '--job-id', 'a'],
    exit: 2,
    error: 'usage_error',
  },
  {
    name: 'invalid JSON',
    args: ['--job-id', 'a', '--type', 'fib', '--payload', '{"n":'],
    exit: 3,
    error: 'bad_payload',
  },
  {
    name: 'invalid UTF-8 escape',
    args: ['--job-id', 'a', '--payload', '"\\ud800"'],
    exit: 3,
    error: 'bad_payload',
  },
  {
    name: 'unknown type wins over bad JSON',
    args: ['--job-id', 'a', '--type', 'x', '--payload', '{'],
    exit: 4,
    error: 'unknown_type',
  },
  {
    name: 'type defaults to echo',
    args: ['--job-id', 'a', '--payload', '[1,2]'],
    exit: 0,
    stdout: '{"type":"echo","result":[1,2]}\n',
  },
  {
    name: 'payload from stdin',
    args: ['--job-id', 'a', '--type', 'fib', '--payload-stdin'],
    stdin: '{"n":10}',
    exit: 0,
    stdout: '{"type":"fib","result":{"value":55,"modulus":1000000007}}\n',
  },
  {
    name: 'stdin payload read to EOF, whitespace and all',
    args: ['--job-id', 'a', '--payload-stdin'],
    stdin: ' [1,\n2]\n',
    exit: 0,
    stdout: '{"type":"echo","result":[1,2]}\n',
  },
  {
    name: 'empty stdin is not JSON',
    args: ['--job-id', 'a', '--payload-stdin'],
    exit: 3,
    error: 'bad_payload',
    message: 'payload is not valid JSON',
  },
  {
    name: '--payload and --payload-stdin together',
    args: ['--job-id', 'a', '--payload', '1', '--payload-stdin'],
    stdin: '2',
    exit: 2,
    error: 'usage_error',
    message: '--payload and --payload-stdin are mutually exclusive',
  },
  {
    name: '--payload-stdin twice',
    args: ['--job-id', 'a', '--payload-stdin', '--payload-stdin'],
    stdin: '2',
    exit: 2,
    error: 'usage_error',
  },
  {
    name: 'self-test with --payload-stdin',
    args: ['--self-test', '--payload-stdin'],
    stdin: '2',
    exit: 2,
    error: 'usage_error',
  },
  {
    name: 'unknown type does not read stdin',
    args: ['--job-id', 'a', '--type', 'x', '--payload-stdin'],
    stdin: '{',
    exit: 4,
    error: 'unknown_type',
  },
  {
    name: '--payload keeps its 64 KiB cap',
    args: ['--job-id', 'a', '--payload', `"${'x'.repeat(65_535)}"`],
    exit: 3,
    error: 'bad_payload',
    message:
      'payload must be at most 65536 bytes with --payload (larger payloads go through --payload-stdin)',
  },
  { name: 'self-test', args: ['--self-test'], exit: 0, stdout: '{"self_test":"ok"}\n' },
  { name: 'help', args: ['--help'], exit: 0 },
];

describe('runner CLI on both builds', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const stdin = c.stdin === undefined ? undefined : Buffer.from(c.stdin);
      const [n, w] = await Promise.all([
        native.runArgs(c.args, 10_000, undefined, undefined, stdin),
        wasm.runArgs(c.args, 10_000, undefined, stdin),
      ]);
      expect({ exit: w.exit_code, stdout: w.stdout, stderr: w.stderr }).toEqual({
        exit: n.exit_code,
        stdout: n.stdout,
        stderr: n.stderr,
      });
      expect(n.exit_code).toBe(c.exit);
      if (c.error) expect(JSON.parse(n.stderr).error.code).toBe(c.error);
      if (c.stdout !== undefined) expect(n.stdout).toBe(c.stdout);
      if (c.message !== undefined) expect(JSON.parse(n.stderr).error.message).toBe(c.message);
    });
  }
});
