// Executor behaviour shared by both: timeouts kill, aborts cancel, output is bounded, payloads go
// through stdin, oversized ones are refused with the runner's own answer, and threads are reused
// safely.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRUNCATED_MARKER } from '../../../worker-node/src/executors/limits';
import { NativeExecutor } from '../../../worker-node/src/executors/native';
import type { Executor } from '../../../worker-node/src/executors/types';
import { WasmExecutor } from '../../../worker-node/src/executors/wasm';
import { ensureNativeRunner, ensureWasmModule } from './build';

const SMALL_OUTPUT = 100;
const executors: Record<'native' | 'wasm', Executor> = {} as never;

beforeAll(async () => {
  executors.native = new NativeExecutor({
    binaryPath: await ensureNativeRunner(),
    maxOutputBytes: SMALL_OUTPUT,
  });
  executors.wasm = await WasmExecutor.create({
    wasmPath: ensureWasmModule(),
    maxOutputBytes: SMALL_OUTPUT,
  });
}, 300_000);

afterAll(async () => {
  await executors.native?.close();
  await executors.wasm?.close();
});

for (const name of ['native', 'wasm'] as const) {
  describe(`${name} executor`, () => {
    it('kills a job at its timeout', async () => {
      const started = performance.now();
      const r = await executors[name].run({
        jobId: 't',
        type: 'sleep',
        payload: { ms: 10_000 },
        timeoutMs: 300,
      });
      expect(r).toMatchObject({
        executor: name,
        timed_out: true,
        cancelled: false,
        exit_code: 137,
      });
      expect(performance.now() - started).toBeLessThan(2000);
    });

    it('kills a CPU-bound job at its timeout', async () => {
      const r = await executors[name].run({
        jobId: 't',
        type: 'sha256',
        payload: { data: 'x', rounds: 50_000_000 },
        timeoutMs: 300,
      });
      expect(r).toMatchObject({ timed_out: true, exit_code: 137 });
      expect(r.duration_ms).toBeLessThan(2000);
    });

    it('cancels a job when its signal aborts', async () => {
      const controller = new AbortController();
      const run = executors[name].run({
        jobId: 'c',
        type: 'sleep',
        payload: { ms: 10_000 },
        timeoutMs: 30_000,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 100);
      const r = await run;
      expect(r).toMatchObject({ cancelled: true, timed_out: false, exit_code: 137 });
      expect(r.duration_ms).toBeLessThan(2000);
    });

    it('does not start a job whose signal has already aborted', async () => {
      const r = await executors[name].run({
        jobId: 'c',
        type: 'echo',
        payload: 1,
        timeoutMs: 5000,
        signal: AbortSignal.abort(),
      });
      expect(r).toMatchObject({ cancelled: true, stdout: '' });
    });

    it('truncates output at the limit and marks it', async () => {
      const r = await executors[name].run({
        jobId: 'o',
        type: 'echo',
        payload: 'y'.repeat(500),
        timeoutMs: 5000,
      });
      expect(r.exit_code).toBe(0);
      expect(r.stdout.endsWith(TRUNCATED_MARKER)).toBe(true);
      expect(r.stdout.length).toBe(SMALL_OUTPUT + TRUNCATED_MARKER.length);
      expect(r.stdout.startsWith('{"type":"echo","result":"yyy')).toBe(true);
    });

    it('hands every byte of stdout to onStdout while the result stays bounded', async () => {
      const data = 'x'.repeat(3 * 1024 * 1024);
      const chunks: Buffer[] = [];
      const r = await executors[name].run({
        jobId: 't',
        type: 'echo',
        payload: data,
        timeoutMs: 30_000,
        onStdout: (c) => chunks.push(Buffer.from(c)),
      });
      expect(r.exit_code).toBe(0);
      expect(Buffer.concat(chunks).toString()).toBe(
        `${JSON.stringify({ type: 'echo', result: data })}\n`,
      );
      expect(r.stdout).toHaveLength(SMALL_OUTPUT + TRUNCATED_MARKER.length);
      expect(r.stdout.endsWith(TRUNCATED_MARKER)).toBe(true);
    });

    it('refuses a payload over 100 MiB without starting the runner, as the runner would', async () => {
      const r = await executors[name].run({
        jobId: 'o',
        type: 'echo',
        payload: 'z'.repeat(100 * 1024 * 1024),
        timeoutMs: 5000,
      });
      expect(r).toMatchObject({ exit_code: 3, duration_ms: 0 });
      expect(JSON.parse(r.stderr).error).toEqual({
        code: 'bad_payload',
        message: 'payload must be at most 104857600 bytes',
      });
    });

    it("passes a payload over argv's 128 KiB per-argument cap through stdin", async () => {
      const payload = { text: 'ü '.repeat(100_000), top: 0 };
      const r = await executors[name].run({
        jobId: 'o',
        type: 'wordcount',
        payload,
        timeoutMs: 10_000,
      });
      expect(r.stdout).toBe(
        '{"type":"wordcount","result":{"lines":1,"words":100000,"bytes":300000,"unique":1,"top":[]}}\n',
      );
    });

    it('keeps working after a killed job and runs jobs concurrently', async () => {
      const jobs = [1, 2, 3, 4].map((i) =>
        executors[name].run({
          jobId: `j${i}`,
          type: 'fib',
          payload: { n: i * 10 },
          timeoutMs: 10_000,
        }),
      );
      const results = await Promise.all(jobs);
      expect(results.map((r) => JSON.parse(r.stdout).result.value)).toEqual([
        55, 6765, 832040, 102334155,
      ]);
    });
  });
}

describe('wasm executor threads', () => {
  it('reuses a thread across jobs and starts a fresh instance each time', async () => {
    const wasm = await WasmExecutor.create({ wasmPath: ensureWasmModule(), idleThreads: 1 });
    try {
      // A job that grows memory, then small ones on the same thread: no state carries over.
      const big = await wasm.run({
        jobId: 'a',
        type: 'sort',
        payload: { n: 10_000_000, seed: 1 },
        timeoutMs: 60_000,
      });
      expect(big.exit_code).toBe(0);
      for (let i = 0; i < 3; i++) {
        const r = await wasm.run({
          jobId: 'b',
          type: 'sort',
          payload: { n: 10_000_000, seed: 1 },
          timeoutMs: 60_000,
        });
        expect(r.stdout).toBe(big.stdout);
      }
      const small = await wasm.run({
        jobId: 'c',
        type: 'sleep',
        payload: { ms: 1 },
        timeoutMs: 5000,
      });
      expect(small.stdout).toBe('{"type":"sleep","result":{"slept_ms":1}}\n');
    } finally {
      await wasm.close();
    }
  });
});
