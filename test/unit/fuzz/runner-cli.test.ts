/**
 * Property-based fuzzing of the runner, native binary and wasm build, through the worker node's
 * executors: random payloads per job type (wrong types, negative, fractional and huge numbers, deep
 * nesting, long strings), random type names, raw payload text and random flags. Pass: exit codes only
 * from the documented table (wasm-runner/README.md), never a crash or a hang, one JSON line on stdout
 * for 0 and one JSON error line on stderr otherwise, and both builds byte for byte the same.
 * Generated work stays small or is out of range (refused with exit 3), so every run is quick.
 * Seeds and run counts: test/fuzz-support/config.ts (FUZZ_SEED, FUZZ_RUNS).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeExecutor } from '../../../worker-node/src/executors/native';
import type { ExecResult } from '../../../worker-node/src/executors/types';
import { WasmExecutor } from '../../../worker-node/src/executors/wasm';
import {
  deepJson,
  junkJson,
  loneSurrogate,
  malformedJsonText,
  nastyNumber,
  nastyString,
} from '../../fuzz-support/arbitraries';
import { fuzzParams } from '../../fuzz-support/config';
import { ensureNativeRunner, ensureWasmModule } from '../runner/build';

const TIMEOUT_MS = 10_000;
const QUICK_MS = 5_000;
const TYPES = [
  'echo',
  'sleep',
  'fail',
  'primes',
  'fib',
  'sha256',
  'matmul',
  'sort',
  'mandelbrot',
  'wordcount',
] as const;
const ERROR_CODES: Record<number, string> = {
  1: 'job_failed',
  2: 'usage_error',
  3: 'bad_payload',
  4: 'unknown_type',
};

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

/** A field value: small and valid, or wrong in a way the runner must refuse quickly. */
const field = (validMax: number, tooBig: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: validMax }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: validMax }).map((n) => n + 0.0) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        -1,
        -0.5,
        0.5,
        1.5,
        tooBig,
        tooBig * 10,
        1e300,
        -1e300,
        2 ** 63,
        2 ** 64,
        -(2 ** 63),
        1e19,
      ),
    },
    { weight: 2, arbitrary: junkJson },
  );

/** Per type, an object whose fields are drawn from `field`, plus junk keys; or any junk at all. */
const PAYLOADS: Record<(typeof TYPES)[number], fc.Arbitrary<unknown>> = {
  echo: fc.oneof(junkJson, fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' })),
  sleep: fc.record({ ms: field(30, 600_001) }, { requiredKeys: [] }),
  fail: fc.record(
    {
      code: fc.oneof(field(125, 126), fc.constantFrom(0, 255, 256, -1)),
      message: fc.oneof(nastyString, fc.constant('m'.repeat(4097))),
    },
    { requiredKeys: [] },
  ),
  primes: fc.record({ limit: field(100_000, 2_000_000_001) }, { requiredKeys: [] }),
  fib: fc.record(
    // Above 2^53 on purpose: the runner gets it through JSON, already rounded to a double.
    // eslint-disable-next-line no-loss-of-precision
    { n: fc.oneof(field(1_000_000, 2e18), fc.constantFrom(1e18, 999_999_999_999_999_999)) },
    { requiredKeys: [] },
  ),
  sha256: fc.record(
    { data: fc.oneof(nastyString, junkJson), rounds: field(1000, 50_000_001) },
    { requiredKeys: [] },
  ),
  matmul: fc.record(
    { n: field(48, 2049), seed: fc.oneof(field(2 ** 40, 2 ** 53), fc.constant(2 ** 53 - 1)) },
    { requiredKeys: [] },
  ),
  sort: fc.record(
    { n: field(20_000, 20_000_001), seed: field(2 ** 40, 2 ** 53) },
    { requiredKeys: [] },
  ),
  mandelbrot: fc.record(
    { width: field(48, 16_385), height: field(48, 16_385), max_iter: field(64, 1_000_001) },
    { requiredKeys: [] },
  ),
  wordcount: fc.record(
    {
      text: fc.oneof(nastyString, fc.string({ unit: 'binary', maxLength: 2000 }), junkJson),
      top: field(100, 101),
    },
    { requiredKeys: [] },
  ),
};

const typedJob = fc.oneof(
  ...TYPES.map((type) =>
    fc
      .tuple(
        PAYLOADS[type],
        fc.oneof(
          { weight: 5, arbitrary: fc.constant({}) },
          { weight: 1, arbitrary: fc.dictionary(nastyString, junkJson, { maxKeys: 3 }) },
        ),
      )
      .map(([p, extra]) => ({
        type: type as string,
        payload: p !== null && typeof p === 'object' && !Array.isArray(p) ? { ...extra, ...p } : p,
      })),
  ),
  // No NUL: argv cannot carry one (spawn throws before the runner runs; the API's JobType regex keeps it out).
  fc.record({
    type: fc
      .oneof(nastyString, fc.constantFrom('ECHO', 'echo ', ' echo', 'primes2', 'e'.repeat(300), ''))
      .filter((t) => !t.includes('\u0000')),
    payload: junkJson,
  }),
);

// Linux caps one argv string at 128 KiB (MAX_ARG_STRLEN); the executors pass payloads on stdin.
const ARGV_MAX = 128 * 1024 - 1;
const fitsArgv = (s: string) => Buffer.byteLength(s) <= ARGV_MAX && !s.includes('\u0000');

function checkRun(what: string, n: ExecResult, w: ExecResult, opts: { help?: boolean } = {}): void {
  const show = (r: ExecResult) =>
    `exit ${r.exit_code} timed_out ${r.timed_out} ${r.duration_ms} ms\n    stdout ${JSON.stringify(r.stdout.slice(0, 300))}\n    stderr ${JSON.stringify(r.stderr.slice(0, 300))}`;
  const context = `${what}\n  native: ${show(n)}\n  wasm:   ${show(w)}`;
  for (const r of [n, w]) {
    expect(r.timed_out, `hang: ${context}`).toBe(false);
    expect(r.duration_ms, `slow: ${context}`).toBeLessThan(QUICK_MS);
    expect(r.exit_code >= 0 && r.exit_code <= 125, `exit code outside the table: ${context}`).toBe(
      true,
    );
  }
  expect(
    { exit: w.exit_code, stdout: w.stdout, stderr: w.stderr },
    `native and wasm disagree: ${context}`,
  ).toEqual({ exit: n.exit_code, stdout: n.stdout, stderr: n.stderr });
  if (n.exit_code === 0) {
    expect(n.stderr, context).toBe('');
    if (opts.help) return;
    expect(
      n.stdout.endsWith('\n') && !n.stdout.slice(0, -1).includes('\n'),
      `not one line: ${context}`,
    ).toBe(true);
    expect(() => JSON.parse(n.stdout), context).not.toThrow();
  } else {
    expect(n.stdout, context).toBe('');
    expect(
      n.stderr.endsWith('\n') && !n.stderr.slice(0, -1).includes('\n'),
      `not one line: ${context}`,
    ).toBe(true);
    const err = JSON.parse(n.stderr) as { error: { code: string; message: string } };
    expect(Object.keys(err), context).toEqual(['error']);
    expect(typeof err.error.message === 'string' && err.error.message.length > 0, context).toBe(
      true,
    );
    expect(err.error.code, context).toBe(ERROR_CODES[n.exit_code] ?? 'job_failed');
  }
}

describe('fuzz the runner through both executors', () => {
  it('typed payloads, junk payloads and random type names', async () => {
    await fc.assert(
      fc.asyncProperty(typedJob, async ({ type, payload }) => {
        const req = { jobId: 'fuzz', type, payload, timeoutMs: TIMEOUT_MS };
        const [n, w] = await Promise.all([native.run(req), wasm.run(req)]);
        checkRun(`${type} ${JSON.stringify(payload)?.slice(0, 400)}`, n, w);
        if (n.exit_code === 0) expect(JSON.parse(n.stdout).type).toBe(type);
      }),
      fuzzParams('runner typed payloads', 300),
    );
  }, 120_000);

  it('raw payload text: malformed JSON, lone surrogate escapes, deep nesting, huge numbers', async () => {
    const text = fc
      .oneof(
        malformedJsonText,
        fc
          .tuple(
            fc.constantFrom(100, 127, 128, 129, 1000, 10_000, 30_000),
            fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<
              'array' | 'object' | 'mixed'
            >,
          )
          .map(([d, k]) => deepJson(d, k)),
        fc.constantFrom(
          '"' + 'x'.repeat(65_534) + '"',
          '"' + 'x'.repeat(65_535) + '"',
          '"\\ud800"',
          '{"text":"\\udc00"}',
          '{"n":1e999}',
          '{"n":-1e999}',
          '{"limit":1e-999}',
          '{"n":123456789012345678901234567890}',
          '{"n":-0}',
          '{"n":1E2}',
          '{"n":0.0000}',
          '{"n":"10"}',
          '[' + '1,'.repeat(30_000) + '1]',
        ),
        fc.tuple(fc.string({ maxLength: 5 }), loneSurrogate).map(([a, s]) => `"${a}${s}"`),
        nastyNumber.map((x) => `{"limit":${x},"n":${x},"ms":${Math.min(Math.abs(x), 20)}}`),
      )
      .filter(fitsArgv);
    const type = fc.constantFrom(...TYPES);
    await fc.assert(
      fc.asyncProperty(type, text, async (t, payload) => {
        const args = ['--job-id', 'fuzz', '--type', t, '--payload', payload];
        const [n, w] = await Promise.all([
          native.runArgs(args, TIMEOUT_MS),
          wasm.runArgs(args, TIMEOUT_MS),
        ]);
        checkRun(
          `--type ${t} --payload ${payload.slice(0, 300)}${payload.length > 300 ? `... (${payload.length} chars)` : ''}`,
          n,
          w,
        );
      }),
      fuzzParams('runner raw payload text', 200),
    );
  }, 120_000);

  it('random flags: unknown, missing, repeated, empty and oversized values', async () => {
    const flag = fc.oneof(
      fc.constantFrom(
        '--job-id',
        '--type',
        '--payload',
        '--payload-stdin',
        '--self-test',
        '--bogus',
        '-',
        '--',
        '-x',
        '--job-id=1',
        '--JOB-ID',
        '',
      ),
      nastyString,
    );
    const value = fc.oneof(
      fc.constantFrom('', 'x', 'echo', '1', '{}', 'j'.repeat(256), 'j'.repeat(257), '{"a":1}'),
      nastyString.filter((s) => !s.includes('\u0000')),
    );
    const args = fc
      .array(fc.oneof(flag, value), { maxLength: 8 })
      .map((xs) => xs.filter((x) => !x.includes('\u0000')));
    await fc.assert(
      fc.asyncProperty(args, async (a) => {
        const [n, w] = await Promise.all([
          native.runArgs(a, TIMEOUT_MS),
          wasm.runArgs(a, TIMEOUT_MS),
        ]);
        checkRun(`args ${JSON.stringify(a).slice(0, 400)}`, n, w, {
          help: a.includes('--help') || a.includes('-h'),
        });
      }),
      fuzzParams('runner flags', 200),
    );
  }, 120_000);
});
