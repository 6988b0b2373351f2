// Every job type on both builds: the same stdout byte for byte, the same exit code and stderr, and
// the known answer where there is one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeExecutor } from '../../../worker-node/src/executors/native';
import type { ExecResult } from '../../../worker-node/src/executors/types';
import { WasmExecutor } from '../../../worker-node/src/executors/wasm';
import { ensureNativeRunner, ensureWasmModule } from './build';
import { JOB_CASES } from './cases';

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

const comparable = (r: ExecResult) => ({ exit_code: r.exit_code, stdout: r.stdout, stderr: r.stderr, timed_out: r.timed_out });

describe('runner parity: native and wasm agree', () => {
  for (const c of JOB_CASES) {
    it(`${c.type}: ${c.name}`, async () => {
      const req = { jobId: 'parity', type: c.type, payload: c.payload, timeoutMs: 30_000 };
      const [n, w] = await Promise.all([native.run(req), wasm.run(req)]);
      expect(comparable(w)).toEqual(comparable(n));
      expect(n.exit_code).toBe(c.exit);

      if (c.exit === 0) {
        expect(n.stderr).toBe('');
        expect(n.stdout.endsWith('\n')).toBe(true);
        expect(n.stdout.trimEnd()).not.toContain('\n'); // exactly one line
        const out = JSON.parse(n.stdout) as { type: string; result: unknown };
        expect(out.type).toBe(c.type);
        if (c.result !== null) expect(out.result).toEqual(c.result);
      } else {
        expect(n.stdout).toBe('');
        const err = JSON.parse(n.stderr) as { error: { code: string; message: string } };
        expect(err.error.code).toBe(c.error);
        expect(err.error.message.length).toBeGreaterThan(0);
      }
    });
  }

  it('names the offending field in validation errors', async () => {
    const r = await native.run({ jobId: 'p', type: 'primes', payload: { limit: -1 }, timeoutMs: 5000 });
    expect(JSON.parse(r.stderr).error.message).toContain('payload.limit');
  });

  it('echo returns the payload exactly, including key order', async () => {
    const payload = { z: 1, a: { y: [1, 2, { x: 'é' }] }, m: 'text' };
    const r = await wasm.run({ jobId: 'p', type: 'echo', payload, timeoutMs: 5000 });
    expect(r.stdout).toBe(`{"type":"echo","result":${JSON.stringify(payload)}}\n`);
  });
});
