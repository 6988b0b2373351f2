/**
 * Sustained load: jobs submitted at a steady rate for a fixed time to the real stack (wrangler dev and
 * several worker nodes), then drained. Reports throughput, errors (a non-2xx submit or a job that did
 * not succeed: there must be none), dispatch latency (started_at - created_at) percentiles, and the
 * resident memory of each process group (wrangler with its workerd, each node with its runners),
 * sampled through the run.
 *
 * The memory bound: a group fails when its RSS at the end exceeds its RSS after warm-up by more than
 * MEMORY_BOUND_MB or MEMORY_BOUND_RATIO of it, whichever is larger. Warm-up (the first
 * WARMUP_SEC of load) is excluded because workerd and V8 grow while they compile and fill caches; a
 * leak keeps growing after that.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Job } from '../../src/protocol/job';
import { FAST_VARS, startStack, waitFor, type Stack } from '../e2e/harness';

export const MEMORY_BOUND_MB = 150;
export const MEMORY_BOUND_RATIO = 0.5;
const WARMUP_SEC = 5;

export interface LoadOptions {
  seconds: number;
  rate: number;
  nodes: number;
  capacity: number;
  /** Most submissions in flight at once; beyond it the achieved rate falls below the target. */
  maxInflight?: number;
  log?: (line: string) => void;
}

export interface MemoryRow {
  process: string;
  start_mb: number;
  peak_mb: number;
  end_mb: number;
  growth_mb: number;
  bound_mb: number;
  ok: boolean;
}

export interface LoadReport {
  target_rate: number;
  seconds: number;
  submitted: number;
  submit_rate: number;
  /** Jobs finished per second, from the first submission to the last finish. */
  throughput: number;
  succeeded: number;
  errors: number;
  /** Submits answered "restarted mid-request" by wrangler dev reloading changed sources, and retried. */
  dev_reloads: number;
  error_samples: string[];
  submit_ms: Percentiles;
  dispatch_ms: Percentiles;
  end_to_end_ms: Percentiles;
  drain_sec: number;
  memory: MemoryRow[];
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  // A busy two-core machine can delay a beat by seconds: a 3 s timeout would reap healthy nodes.
  const stack = await startStack({ vars: { ...FAST_VARS, WORKER_HEARTBEAT_TIMEOUT_SEC: '30' } });
  try {
    for (let i = 0; i < opts.nodes; i++)
      await stack.startNode({ id: `load-n${i}`, capacity: opts.capacity });
    const groups = processGroups(stack);
    const samples = new Map<string, number[]>(groups.map((g) => [g.name, []]));
    const sample = () => groups.forEach((g) => samples.get(g.name)!.push(groupRssMb(g.pgid)));
    sample();

    const errors: string[] = [];
    const ids: string[] = [];
    const submitMs: number[] = [];
    const maxInflight = opts.maxInflight ?? 64;
    let inflight = 0;
    let devReloads = 0;
    const total = Math.round(opts.seconds * opts.rate);
    const t0 = Date.now();
    let warmSampled = false;
    let lastSample = t0;
    const pending: Promise<void>[] = [];
    log(
      `[load] ${total} jobs at ${opts.rate}/s for ${opts.seconds} s on ${opts.nodes} nodes x ${opts.capacity} slots`,
    );
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / opts.rate;
      while (Date.now() < due || inflight >= maxInflight)
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(20, due - Date.now()))));
      if (!warmSampled && Date.now() - t0 >= WARMUP_SEC * 1000) {
        // The baseline of the memory bound.
        groups.forEach((g) => samples.get(g.name)!.splice(0, Infinity, groupRssMb(g.pgid)));
        warmSampled = true;
      } else if (Date.now() - lastSample >= 5000) {
        sample();
        lastSample = Date.now();
      }
      inflight++;
      const body =
        i % 2 ? { type: 'echo', payload: { n: i } } : { type: 'sleep', payload: { ms: 20 } };
      const started = performance.now();
      const key = `load-${t0}-${i}`;
      const post = () =>
        stack.call<{ job: Job }>(
          'POST',
          '/jobs',
          { ...body, max_retries: 3 },
          { 'x-idempotency-key': key },
        );
      pending.push(
        post()
          .then(async (r) => {
            // wrangler dev reloads the Worker when a source file changes (others edit the tree while
            // this runs): that is the dev server, not the system under test. Counted, retried once
            // with the same idempotency key, never hidden.
            if (r.status === 503 && JSON.stringify(r.body).includes('restarted mid-request')) {
              devReloads++;
              r = await post();
            }
            submitMs.push(performance.now() - started);
            if (r.status === 201 || r.status === 200) ids.push(r.body.job.id);
            else
              errors.push(`submit answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
          })
          .catch((e) => void errors.push(`submit failed: ${String(e)}`))
          .finally(() => inflight--),
      );
    }
    await Promise.all(pending);
    const submitEnd = Date.now();
    log(`[load] submitted ${ids.length} in ${((submitEnd - t0) / 1000).toFixed(1)} s; draining`);

    let jobs: Job[] = [];
    await waitFor(
      'every job to finish',
      async () => {
        // /stats is one cheap call; the full listing only once it says nothing is active.
        const by = (await stack.call<{ jobs_by_status: Record<string, number> }>('GET', '/stats'))
          .body.jobs_by_status;
        if (
          !by ||
          ['waiting', 'scheduled', 'queued', 'running', 'retrying'].some((s) => (by[s] ?? 0) > 0)
        )
          return false;
        jobs = await listAll(stack);
        return ids.every((id) =>
          jobs.find((j) => j.id === id && ['succeeded', 'failed', 'cancelled'].includes(j.status)),
        );
      },
      Math.max(60_000, opts.seconds * 1000),
      1000,
    ).catch((e) => void errors.push(String(e)));
    const drainEnd = Date.now();
    sample();

    const byId = new Map(jobs.map((j) => [j.id, j]));
    const mine = ids.map((id) => byId.get(id)).filter((j): j is Job => !!j);
    for (const j of mine)
      if (j.status !== 'succeeded') errors.push(`${j.id} ended ${j.status}: ${j.error}`);
    const succeeded = mine.filter((j) => j.status === 'succeeded');
    const firstAttempt = succeeded.filter((j) => j.attempts === 1 && j.started_at);
    const lastFinish = Math.max(...succeeded.map((j) => Date.parse(j.finished_at ?? j.updated_at)));

    const memory: MemoryRow[] = groups.map((g) => {
      const s = samples.get(g.name)!;
      const start = s[0];
      const end = s[s.length - 1];
      const bound = Math.max(MEMORY_BOUND_MB, start * MEMORY_BOUND_RATIO);
      return {
        process: g.name,
        start_mb: start,
        peak_mb: Math.max(...s),
        end_mb: end,
        growth_mb: round(end - start),
        bound_mb: round(bound),
        ok: end - start <= bound,
      };
    });
    return {
      target_rate: opts.rate,
      seconds: opts.seconds,
      submitted: ids.length,
      submit_rate: round(ids.length / ((submitEnd - t0) / 1000)),
      throughput: round(succeeded.length / ((lastFinish - t0) / 1000)),
      succeeded: succeeded.length,
      errors: errors.length,
      dev_reloads: devReloads,
      error_samples: errors.slice(0, 10),
      submit_ms: percentiles(submitMs),
      dispatch_ms: percentiles(
        firstAttempt.map((j) => Date.parse(j.started_at!) - Date.parse(j.created_at)),
      ),
      end_to_end_ms: percentiles(
        succeeded.map((j) => Date.parse(j.finished_at ?? j.updated_at) - Date.parse(j.created_at)),
      ),
      drain_sec: round((drainEnd - submitEnd) / 1000),
      memory,
    };
  } finally {
    await stack.stop();
  }
}

async function listAll(stack: Stack): Promise<Job[]> {
  const out: Job[] = [];
  for (let offset = 0; ; offset += 500) {
    const r = await stack.call<{ jobs: Job[] }>('GET', `/jobs?limit=500&offset=${offset}`);
    if (r.status !== 200) throw new Error(`GET /jobs answered ${r.status}`);
    out.push(...r.body.jobs);
    if (r.body.jobs.length < 500) return out;
  }
}

interface Group {
  name: string;
  pgid: number;
}

/** wrangler's process group (found by its --port) and each node's (its pid leads its own group). */
function processGroups(stack: Stack): Group[] {
  const port = new URL(stack.api).port;
  let wrangler: number | undefined;
  for (const pid of pids()) {
    const cmd = readProc(pid, 'cmdline').split('\0').join(' ');
    if (cmd.includes('wrangler') && cmd.includes(` dev --port ${port} `)) {
      wrangler = pgidOf(pid);
      break;
    }
  }
  if (!wrangler) throw new Error(`no wrangler process with --port ${port}`);
  return [
    { name: 'api (wrangler+workerd)', pgid: wrangler },
    ...stack.nodes.map((n) => ({ name: n.id, pgid: n.child.pid! })),
  ];
}

function groupRssMb(pgid: number): number {
  let kb = 0;
  for (const pid of pids()) {
    if (pgidOf(pid) !== pgid) continue;
    const m = /VmRSS:\s+(\d+) kB/.exec(readProc(pid, 'status'));
    if (m) kb += Number(m[1]);
  }
  return round(kb / 1024);
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
}

function pgidOf(pid: number): number {
  // Fields after the parenthesised command name: state ppid pgrp ...
  const stat = readProc(pid, 'stat');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[2]);
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(s[s.length - 1]) };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export function formatLoad(r: LoadReport): string {
  const pct = (p: Percentiles) => `p50 ${p.p50}  p90 ${p.p90}  p99 ${p.p99}  max ${p.max}`;
  const mem = r.memory.map(
    (m) =>
      `  ${m.process.padEnd(24)} start ${String(m.start_mb).padStart(6)} MB  peak ${String(m.peak_mb).padStart(6)} MB  end ${String(m.end_mb).padStart(6)} MB  growth ${String(m.growth_mb).padStart(6)} MB (bound ${m.bound_mb})  ${m.ok ? 'ok' : 'OVER'}`,
  );
  return [
    `target ${r.target_rate} jobs/s for ${r.seconds} s: submitted ${r.submitted} at ${r.submit_rate}/s, succeeded ${r.succeeded}, throughput ${r.throughput} jobs/s, drain ${r.drain_sec} s`,
    `errors ${r.errors}, dev-server reloads retried ${r.dev_reloads}${r.error_samples.length ? `: ${r.error_samples.join('; ')}` : ''}`,
    `submit latency ms    ${pct(r.submit_ms)}`,
    `dispatch latency ms  ${pct(r.dispatch_ms)}   (started_at - created_at, first attempts)`,
    `end-to-end ms        ${pct(r.end_to_end_ms)}`,
    `memory (RSS of each process group; bound: growth after ${WARMUP_SEC} s warm-up <= max(${MEMORY_BOUND_MB} MB, ${MEMORY_BOUND_RATIO * 100}%))`,
    ...mem,
  ].join('\n');
}
