// Every job type on both builds: the same stdout byte for byte, the same exit code and stderr, and
// the known answer where there is one. Payloads go through the runner's stdin (--payload-stdin), up
// to the 100 MiB limit.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeExecutor } from '../../../worker-node/src/executors/native';
import type { ExecResult } from '../../../worker-node/src/executors/types';
import { WasmExecutor } from '../../../worker-node/src/executors/wasm';
import { MAX_PAYLOAD_BYTES } from '../../../worker-node/src/executors/limits';
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

const comparable = (r: ExecResult) => ({
  exit_code: r.exit_code,
  stdout: r.stdout,
  stderr: r.stderr,
  timed_out: r.timed_out,
});

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
    const r = await native.run({
      jobId: 'p',
      type: 'primes',
      payload: { limit: -1 },
      timeoutMs: 5000,
    });
    expect(JSON.parse(r.stderr).error.message).toContain('payload.limit');
  });

  it('echo returns the payload exactly, including key order', async () => {
    const payload = { z: 1, a: { y: [1, 2, { x: 'é' }] }, m: 'text' };
    const r = await wasm.run({ jobId: 'p', type: 'echo', payload, timeoutMs: 5000 });
    expect(r.stdout).toBe(`{"type":"echo","result":${JSON.stringify(payload)}}\n`);
  });
});

// Text with a known word count: `lines` lines of `perLine` words drawn from `vocabulary` words.
function wordText(lines: number, perLine: number, vocabulary: number) {
  const rows: string[] = [];
  let word = 0;
  for (let l = 0; l < lines; l++) {
    const row: string[] = [];
    for (let w = 0; w < perLine; w++) row.push(`w${word++ % vocabulary}é`);
    rows.push(row.join(l % 2 ? '\t' : ' '));
  }
  return rows.join('\n') + '\n';
}

describe('runner parity: payloads of many MiB through stdin', () => {
  const both = async (req: { type: string; payload: unknown }) => {
    const full = { jobId: 'big', timeoutMs: 120_000, ...req };
    const [n, w] = await Promise.all([native.run(full), wasm.run(full)]);
    expect(comparable(w)).toEqual(comparable(n));
    return n;
  };

  it('wordcount of 20 MiB of text', async () => {
    const text = wordText(240_000, 12, 5000);
    expect(Buffer.byteLength(text)).toBeGreaterThan(20 * 1024 * 1024);
    const r = await both({ type: 'wordcount', payload: { text, top: 3 } });
    expect(r.exit_code).toBe(0);
    // Every word occurs 576 times; ties are broken by the words' bytes, ascending ('0' < 'é').
    expect(JSON.parse(r.stdout).result).toEqual({
      lines: 240_000,
      words: 2_880_000,
      bytes: Buffer.byteLength(text),
      unique: 5000,
      top: ['w0é', 'w1000é', 'w1001é'].map((word) => ({ word, count: 576 })),
    });
  });

  it('sha256 of a payload of exactly 100 MiB', async () => {
    const frame = Buffer.byteLength('{"data":""}');
    const unit = 'héllo wörld '; // 14 UTF-8 bytes
    const repeats = Math.floor((MAX_PAYLOAD_BYTES - frame) / 14);
    const padded = unit.repeat(repeats) + 'x'.repeat(MAX_PAYLOAD_BYTES - frame - 14 * repeats);
    expect(Buffer.byteLength(JSON.stringify({ data: padded }))).toBe(MAX_PAYLOAD_BYTES);
    const r = await both({ type: 'sha256', payload: { data: padded } });
    expect(r.stdout).toBe(
      `{"type":"sha256","result":{"digest":"${createHash('sha256').update(padded).digest('hex')}"}}\n`,
    );
  });

  it('refuses one byte over 100 MiB: in the executors, and in the runner itself', async () => {
    const message = {
      code: 'bad_payload',
      message: `payload must be at most ${MAX_PAYLOAD_BYTES} bytes`,
    };
    // The executors refuse it before spawning.
    const refused = await both({
      type: 'sha256',
      payload: { data: 'y'.repeat(MAX_PAYLOAD_BYTES - 10) },
    });
    expect(refused.exit_code).toBe(3);
    expect(JSON.parse(refused.stderr).error).toEqual(message);
    // The runner reads at most one byte past the limit and refuses it the same way.
    const stdin = Buffer.alloc(MAX_PAYLOAD_BYTES + 1, ' ');
    const args = ['--job-id', 'big', '--type', 'sha256', '--payload-stdin'];
    const [n, w] = await Promise.all([
      native.runArgs(args, 60_000, undefined, undefined, stdin),
      wasm.runArgs(args, 60_000, undefined, stdin),
    ]);
    expect(comparable(w)).toEqual(comparable(n));
    expect(n.exit_code).toBe(3);
    expect(JSON.parse(n.stderr).error).toEqual(message);
  });

  it('a runner that exits without reading its stdin is reported, not an EPIPE', async () => {
    const r = await both({ type: 'no-such-type', payload: { text: 'z'.repeat(8 * 1024 * 1024) } });
    expect(r.exit_code).toBe(4);
    expect(JSON.parse(r.stderr).error.code).toBe('unknown_type');
  });

  it('--payload and --payload-stdin together is a usage error on both', async () => {
    const args = ['--job-id', 'big', '--type', 'echo', '--payload', '1', '--payload-stdin'];
    const stdin = Buffer.from(JSON.stringify('q'.repeat(1024 * 1024)));
    const [n, w] = await Promise.all([
      native.runArgs(args, 10_000, undefined, undefined, stdin),
      wasm.runArgs(args, 10_000, undefined, stdin),
    ]);
    expect(comparable(w)).toEqual(comparable(n));
    expect(n.exit_code).toBe(2);
    expect(JSON.parse(n.stderr).error.code).toBe('usage_error');
  });
});
