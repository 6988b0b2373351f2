/**
 * Seeds and run counts for the fuzz suites. A fixed seed by default, so a failure replays; override
 * with FUZZ_SEED and FUZZ_RUNS. Inside workerd only variables Vite passes through reach the test
 * (its `VITE_` prefix), so the workers suites read VITE_FUZZ_SEED / VITE_FUZZ_RUNS; either spelling
 * works in plain Node:
 *
 *   FUZZ_SEED=7 FUZZ_RUNS=1000 npx vitest run --project unit test/unit/fuzz
 *   VITE_FUZZ_SEED=7 VITE_FUZZ_RUNS=1000 npx vitest run --project workers test/workers/fuzz-*.test.ts
 *
 * fast-check prints the seed and the counterexample of a failing property; `path` in its message
 * replays just that case (FUZZ_PATH). FUZZ_SHRINK=1 shrinks it first (slow against a live API).
 */
import type { Parameters } from 'fast-check';

export const DEFAULT_SEED = 20_260_601;

/** A FUZZ_* variable, from Vite's env (workerd) or process.env (Node). */
export function envVar(name: string): string | undefined {
  const meta = (import.meta as unknown as { env?: Record<string, unknown> }).env ?? {};
  const proc =
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const v = meta[`VITE_${name}`] ?? meta[name] ?? proc[`VITE_${name}`] ?? proc[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** fast-check parameters for one property: `runs` is its default count, FUZZ_RUNS replaces it. */
export function fuzzParams<T = unknown>(property: string, runs: number): Parameters<T> {
  const seed = Number(envVar('FUZZ_SEED') ?? DEFAULT_SEED);
  const numRuns = Number(envVar('FUZZ_RUNS') ?? runs);
  const path = envVar('FUZZ_PATH');
  // Logged always; vitest shows it for a failing test (silent: 'passed-only').
  console.log(`[fuzz] ${property}: seed=${seed} runs=${numRuns}${path ? ` path=${path}` : ''}`);
  // No interruptAfterTimeLimit: an interrupted async run is not awaited, and its request would then
  // change state under the next property's snapshot. Run counts are sized to the time budget instead.
  // Shrinking re-runs requests against a live API, which can take minutes: off unless FUZZ_SHRINK=1.
  // The failure message carries the whole exchange either way.
  const shrink = envVar('FUZZ_SHRINK') === '1';
  return { seed, numRuns, ...(path ? { path } : {}), endOnFailure: !shrink };
}
