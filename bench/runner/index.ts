// Native runner vs runner.wasm on each CPU-bound job type, measured in the same run on the same
// machine. Each type is sized so one native run takes roughly 100-300 ms. Three timings per type,
// medians of RUNS runs, each through the executors the worker node uses (so they include process
// spawn for native and thread hand-off for wasm):
//   native     a child process per job
//   wasm cold  a new worker thread and a new instance per job (the module is compiled once)
//   wasm warm  a reused thread, a new instance per job
// Goal: warm geomean of wasm/native <= 1.25 and no type over 2.0.
// fib (O(log n)) and wordcount (dominated by reading and hashing its text payload) are not CPU-bound and are left out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { NativeExecutor } from '../../worker-node/src/executors/native';
import type { ExecRequest, Executor } from '../../worker-node/src/executors/types';
import { WasmExecutor } from '../../worker-node/src/executors/wasm';
import { ensureNativeRunner, ensureWasmModule } from '../../test/unit/runner/build';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const GOAL_GEOMEAN = 1.25;
const GOAL_MAX = 2.0;

const JOBS: { type: string; payload: Record<string, number | string> }[] = [
  { type: 'primes', payload: { limit: 400_000_000 } },
  { type: 'sha256', payload: { data: 'abc', rounds: 800_000 } },
  { type: 'matmul', payload: { n: 1000, seed: 1 } },
  { type: 'sort', payload: { n: 4_000_000, seed: 1 } },
  { type: 'mandelbrot', payload: { width: 1000, height: 750, max_iter: 500 } },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

async function time(executor: Executor, req: ExecRequest): Promise<{ ms: number; stdout: string }> {
  const r = await executor.run(req);
  if (r.exit_code !== 0)
    throw new Error(`${executor.name} ${req.type} failed (${r.exit_code}): ${r.stderr}`);
  return { ms: r.duration_ms, stdout: r.stdout };
}

const native = new NativeExecutor({ binaryPath: await ensureNativeRunner() });
const wasmCold = await WasmExecutor.create({ wasmPath: ensureWasmModule(), idleThreads: 0 });
const wasmWarm = await WasmExecutor.create({ wasmPath: ensureWasmModule(), idleThreads: 1 });

const rows = [];
try {
  for (const job of JOBS) {
    const req: ExecRequest = {
      jobId: 'bench',
      type: job.type,
      payload: job.payload,
      timeoutMs: 120_000,
    };
    const samples: Record<'native' | 'cold' | 'warm', number[]> = {
      native: [],
      cold: [],
      warm: [],
    };
    const outputs = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      for (const [key, executor] of [
        ['native', native],
        ['cold', wasmCold],
        ['warm', wasmWarm],
      ] as const) {
        const { ms, stdout } = await time(executor, req);
        samples[key].push(ms);
        outputs.add(stdout);
      }
    }
    if (outputs.size !== 1)
      throw new Error(`${job.type}: builds disagree: ${[...outputs].join(' | ')}`);
    const nativeMs = median(samples.native);
    rows.push({
      type: job.type,
      payload: job.payload,
      native_ms: round(nativeMs, 1),
      wasm_cold_ms: round(median(samples.cold), 1),
      wasm_warm_ms: round(median(samples.warm), 1),
      ratio_cold: round(median(samples.cold) / nativeMs),
      ratio_warm: round(median(samples.warm) / nativeMs),
    });
  }
} finally {
  await Promise.all([native.close(), wasmCold.close(), wasmWarm.close()]);
}

const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: availableParallelism(),
  memory_gib: round(totalmem() / 2 ** 30, 1),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
};
const geomeanWarm = round(geomean(rows.map((r) => r.ratio_warm)));
const geomeanCold = round(geomean(rows.map((r) => r.ratio_cold)));
const worstWarm = Math.max(...rows.map((r) => r.ratio_warm));
const met = geomeanWarm <= GOAL_GEOMEAN && worstWarm <= GOAL_MAX;

console.log(
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, node ${machine.node}, ${machine.platform}`,
);
console.log(`median of ${RUNS} runs, milliseconds per job (including spawn / thread hand-off)\n`);
const header = ['type', 'native', 'wasm cold', 'wasm warm', 'cold/native', 'warm/native'];
const lines = rows.map((r) => [
  r.type,
  r.native_ms.toFixed(1),
  r.wasm_cold_ms.toFixed(1),
  r.wasm_warm_ms.toFixed(1),
  r.ratio_cold.toFixed(2),
  r.ratio_warm.toFixed(2),
]);
lines.push(['geomean', '', '', '', geomeanCold.toFixed(2), geomeanWarm.toFixed(2)]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
for (const l of [header, ...lines])
  console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
console.log(
  `\ngoal (warm): geomean <= ${GOAL_GEOMEAN}, every type <= ${GOAL_MAX}: ${met ? 'met' : 'NOT met'}`,
);

const outPath = fileURLToPath(new URL('../results/runner.json', import.meta.url));
mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
writeFileSync(
  outPath,
  `${JSON.stringify({ machine, runs: RUNS, results: rows, geomean_warm: geomeanWarm, geomean_cold: geomeanCold, goal: { geomean: GOAL_GEOMEAN, max: GOAL_MAX, met } }, null, 2)}\n`,
);
console.log(`wrote ${outPath}`);
