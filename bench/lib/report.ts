// What every benchmark prints first and writes with its results: the machine, so a number is never
// quoted without the hardware it came from, and bench/results/<name>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export interface Machine {
  cpu: string;
  cores: number;
  memory_gib: number;
  node: string;
  platform: string;
  /** 1-minute load average when the result was written: other work on the machine skews every number. */
  load_1m: number;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memory_gib: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    load_1m: round(loadavg()[0], 2),
  };
}

export function machineLine(m = machine()): string {
  return `machine: ${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB, node ${m.node}, ${m.platform}, load ${m.load_1m}`;
}

export function writeResult(name: string, body: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${name}.json`;
  writeFileSync(
    path,
    `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), ...body }, null, 2)}\n`,
  );
  return path;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

/** Nearest-rank percentile of unsorted samples; NaN for none. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);

/** A fixed-width text table: the first row is the header. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(cells[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
