// Executor selection at boot: native when its self-test passes, wasm as the fallback, one
// structured log line when falling back, and a typed error for an executor that is not there.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutors, type Executors } from '../../../worker-node/src/executors/select';
import { ExecutorUnavailableError } from '../../../worker-node/src/executors/types';
import { ensureNativeRunner, ensureWasmModule } from './build';

let binaryPath: string;
let wasmPath: string;
let scratch: string;

beforeAll(async () => {
  binaryPath = await ensureNativeRunner();
  wasmPath = ensureWasmModule();
  scratch = mkdtempSync(join(tmpdir(), 'runner-select-'));
}, 300_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function withExecutors(
  binary: string,
  fn: (ex: Executors, logs: Record<string, unknown>[]) => Promise<void>,
) {
  const logs: Record<string, unknown>[] = [];
  const ex = await createExecutors({
    binaryPath: binary,
    wasmPath,
    log: (line) => logs.push(line as Record<string, unknown>),
  });
  try {
    await fn(ex, logs);
  } finally {
    await ex.close();
  }
}

describe('createExecutors', () => {
  it('offers native and wasm when the binary passes its self-test, native by default', async () => {
    await withExecutors(binaryPath, async (ex, logs) => {
      expect(ex.available).toEqual(['native', 'wasm']);
      expect(ex.pick().name).toBe('native');
      expect(ex.pick(null).name).toBe('native');
      expect(ex.pick('wasm').name).toBe('wasm');
      expect(logs).toEqual([]);
    });
  });

  const unusable: [string, () => string, string][] = [
    ['is missing', () => join(scratch, 'no-such-runner'), 'not found'],
    ['is a directory', () => scratch, 'not a file'],
    [
      'is not executable',
      () => {
        const p = join(scratch, 'not-executable');
        writeFileSync(p, '#!/bin/sh\necho ok\n');
        chmodSync(p, 0o644);
        return p;
      },
      'not executable',
    ],
    ['fails its self-test', () => '/bin/false', 'self-test failed (exit 1)'],
    ['prints the wrong answer', () => '/bin/echo', 'self-test failed (exit 0)'],
    [
      'crashes',
      () => {
        const p = join(scratch, 'crashes');
        writeFileSync(p, '#!/bin/sh\nkill -SEGV $$\n');
        chmodSync(p, 0o755);
        return p;
      },
      'self-test failed (exit 139)',
    ],
  ];
  for (const [what, path, reason] of unusable) {
    it(`falls back to wasm when the native binary ${what}`, async () => {
      const binary = path();
      await withExecutors(binary, async (ex, logs) => {
        expect(ex.available).toEqual(['wasm']);
        expect(ex.pick().name).toBe('wasm');
        expect(logs).toHaveLength(1);
        expect(logs[0]).toMatchObject({
          event: 'executor_fallback',
          executor: 'native',
          path: binary,
          using: ['wasm'],
        });
        expect(String(logs[0].reason)).toContain(reason);
        expect(() => ex.pick('native')).toThrow(ExecutorUnavailableError);
        try {
          ex.pick('native');
        } catch (err) {
          expect(err).toMatchObject({
            code: 'executor_unavailable',
            requested: 'native',
            available: ['wasm'],
          });
        }
      });
    });
  }

  it('reports a missing wasm module and offers native alone', async () => {
    const logs: Record<string, unknown>[] = [];
    const ex = await createExecutors({
      binaryPath,
      wasmPath: join(scratch, 'none.wasm'),
      log: (l) => logs.push(l as Record<string, unknown>),
    });
    try {
      expect(ex.available).toEqual(['native']);
      expect(logs[0]).toMatchObject({ event: 'executor_unavailable', executor: 'wasm' });
      expect(() => ex.pick('wasm')).toThrow(ExecutorUnavailableError);
    } finally {
      await ex.close();
    }
  });
});
