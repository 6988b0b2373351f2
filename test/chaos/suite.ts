/**
 * Runs the chaos phases: for each fault (then all of them mixed), a fresh queue with its own worker
 * nodes, N uniquely identified jobs submitted at a steady rate while the fault is on, then quiescence
 * (every accepted job terminal) or the deadline, then the checker. Returns one row of counts per phase
 * and every violation with its evidence.
 */
import type { Job } from '../../src/protocol/job';
import { FAST_VARS } from '../e2e/harness';
import { check, parseApiLog, type Counts } from './checker';
import { ChaosCluster, type ChaosNode } from './cluster';
import { ALL_FAULTS, alarmHookPresent, mixed, type Fault, type PhaseContext } from './faults';
import { D1_FAIL_RATE, D1_FLAKY_QUEUES } from './seam-faults';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../e2e/node-process';

export interface SuiteOptions {
  jobsPerFault: number;
  jobsMixed: number;
  /** Submissions per second. */
  rate: number;
  nodes: number;
  capacity: number;
  /** How long a phase may take to drain after its last submission before the rest counts as stuck. */
  quiesceMs: number;
  /** The nemesis keeps going at least this long, even when the jobs are all submitted sooner. */
  minFaultMs: number;
  seed: number;
  /** Only these faults (names); all when absent. */
  only?: string[];
  log?: (line: string) => void;
}

export interface PhaseRow extends Partial<Counts> {
  fault: string;
  seconds: number;
  skipped?: string;
  indeterminate?: number;
  /** Faults actually injected: processes killed, paused or restarted, dispatches and reports tampered with. */
  injected?: number;
}

export interface SuiteResult {
  rows: PhaseRow[];
  violations: string[];
}

export const CHAOS_VARS: Record<string, string> = {
  ...FAST_VARS,
  DISPATCH_TIMEOUT_MS: '1500',
  LEASE_GRACE_SEC: '2',
  MAX_LEASE_LOSSES: '50',
  // The d1-flaky phase (and mixed): the outbox's D1 batches fail in these queues (seam-faults.ts).
  FAULT_D1_FAIL_RATE: D1_FAIL_RATE,
  FAULT_D1_FAIL_QUEUES: D1_FLAKY_QUEUES.join(','),
};

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export async function runSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const random = mulberry32(opts.seed);
  const faults = ALL_FAULTS.filter((f) => !opts.only || opts.only.includes(f.name));
  const phases: Array<{ fault: Fault; jobs: number }> = faults.map((f) => ({
    fault: f,
    jobs: opts.jobsPerFault,
  }));
  if (!opts.only || opts.only.includes('mixed'))
    phases.push({ fault: mixed(ALL_FAULTS), jobs: opts.jobsMixed });

  const rows: PhaseRow[] = [];
  const violations: string[] = [];
  const cluster = await ChaosCluster.start(
    alarmHookPresent() ? { ...CHAOS_VARS, FAULT_ALARM_FAIL_ONCE: '1' } : CHAOS_VARS,
  );
  // Interrupted (Ctrl-C, a CI timeout): the API and the nodes run in their own process groups, so
  // nothing else would stop them.
  const interrupted = (sig: NodeJS.Signals) =>
    void cluster.stop().finally(() => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    for (const { fault, jobs } of phases) {
      const skipped = fault.skip?.();
      if (skipped) {
        log(`[chaos] ${fault.name}: SKIPPED: ${skipped}`);
        rows.push({ fault: fault.name, seconds: 0, skipped });
        continue;
      }
      const row = await runPhase(cluster, fault, jobs, opts, random, log);
      rows.push(row.row);
      violations.push(...row.violations.map((v) => `[${fault.name}] ${v}`));
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await cluster.stop();
  }
  return { rows, violations };
}

async function runPhase(
  cluster: ChaosCluster,
  fault: Fault,
  n: number,
  opts: SuiteOptions,
  random: () => number,
  log: (l: string) => void,
): Promise<{ row: PhaseRow; violations: string[] }> {
  const queue = `chaos-${fault.name}`;
  const nodes: ChaosNode[] = [];
  for (let i = 0; i < opts.nodes; i++)
    nodes.push(await cluster.startNode(`${fault.name}-n${i}`, queue, opts.capacity));
  const started = Date.now();
  let injected = 0;
  const ctx: PhaseContext = {
    cluster,
    nodes,
    random,
    lateReports: [],
    dispatchTimeoutMs: Number(CHAOS_VARS.DISPATCH_TIMEOUT_MS),
    heartbeatTimeoutSec: Number(CHAOS_VARS.WORKER_HEARTBEAT_TIMEOUT_SEC),
    note: (line) => {
      injected++;
      log(`[chaos] ${fault.name}: ${line}`);
    },
  };
  const restartsBefore = cluster.apiRestarts;
  const reportsBefore = cluster.apiProxy.reports.length;
  fault.arm?.(ctx);
  const nemesis = new AbortController();
  const running = fault.run?.(ctx, nemesis.signal) ?? Promise.resolve();

  const submitted = fault.submit
    ? await fault.submit(ctx, n, opts.rate)
    : await submitAll(cluster, queue, n, opts.rate, random, fault.jobFields);
  const left = started + opts.minFaultMs - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  nemesis.abort();
  await running;
  // Quiescence is judged with the wire honest again: the fault was on for the whole load.
  for (const node of nodes) node.proxy.dispatchFault = () => null;
  cluster.apiProxy.resultFault = () => null;

  const final = await quiesce(cluster, queue, submitted.ids, opts.quiesceMs);
  const objectStates = await statesInObject(cluster, queue, submitted.ids);
  const result = check({
    objectStates,
    accepted: submitted.ids,
    final,
    reports: cluster.apiProxy.reports.slice(reportsBefore),
    dispatches: nodes.flatMap((node) => node.proxy.dispatches),
    nodeCompletions: nodes
      .flatMap((node) => node.history.flatMap((p) => p.events('job_completed')))
      .map((l) => ({
        job_id: String(l.job_id),
        attempt: Number(l.attempt),
        worker_id: String(l.worker_id ?? ''),
      })),
    apiEvents: parseApiLog(cluster.apiChunks()),
    apiRestarted: cluster.apiRestarts > restartsBefore,
    lateReports: ctx.lateReports,
  });
  const own = fault.verdict?.() ?? { violations: [] };
  if (own.detail) log(`[chaos] ${fault.name}: ${own.detail}`);
  await cluster.retire(nodes);
  injected += nodes.reduce((s, node) => s + node.proxy.dispatches.filter((d) => d.fault).length, 0);
  injected += cluster.apiProxy.reports.slice(reportsBefore).filter((r) => r.fault).length;
  const row: PhaseRow = {
    fault: fault.name,
    seconds: Math.round((Date.now() - started) / 1000),
    injected,
    indeterminate: submitted.indeterminate,
    ...result.counts,
  };
  log(`[chaos] ${fault.name}: ${JSON.stringify(row)}`);
  return { row, violations: [...submitted.errors, ...result.violations, ...own.violations] };
}

interface Submitted {
  ids: string[];
  /** Submissions that never got a definite answer (they may or may not exist). */
  indeterminate: number;
  errors: string[];
}

/**
 * Submits `n` jobs at `rate` per second, each with a unique token in its payload and as its
 * idempotency key, so a submission whose answer was lost (the API crashed) is retried safely until
 * it gets one: 201, or 200 with the job the first try created.
 */
async function submitAll(
  cluster: ChaosCluster,
  queue: string,
  n: number,
  rate: number,
  random: () => number,
  jobFields: () => Record<string, unknown> = () => ({}),
): Promise<Submitted> {
  const out: Submitted = { ids: [], indeterminate: 0, errors: [] };
  const one = async (i: number) => {
    const token = `${queue}-${i}-${Math.floor(random() * 1e9).toString(36)}`;
    const body = {
      type: 'sleep',
      payload: { ms: 50 + Math.floor(random() * 600), token },
      max_retries: 10,
      timeout_sec: 5,
      queue,
      ...jobFields(),
    };
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      try {
        // A request to an API that dies mid-answer can hang: give up on it and ask again.
        const r = await withTimeout(
          cluster.stack.call<{ job: Job }>('POST', '/jobs', body, { 'x-idempotency-key': token }),
          15_000,
        );
        if (r.status === 201 || r.status === 200) {
          out.ids.push(r.body.job.id);
          return;
        }
        if (r.status < 500 && r.status !== 409 && r.status !== 429) {
          out.errors.push(
            `submit ${token} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`,
          );
          return;
        }
      } catch {
        // the API is down: try again with the same key
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    out.indeterminate++;
  };
  const inflight: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    inflight.push(one(i));
  }
  await Promise.all(inflight);
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(t));
}

/** Polls the queue's jobs until every accepted one is terminal (then once more), or the deadline. */
async function quiesce(
  cluster: ChaosCluster,
  queue: string,
  ids: string[],
  timeoutMs: number,
): Promise<Map<string, { id: string; status: string; attempts: number }>> {
  const deadline = Date.now() + timeoutMs;
  let final = new Map<string, { id: string; status: string; attempts: number }>();
  let quietSince: number | null = null;
  for (;;) {
    try {
      final = await listQueue(cluster, queue);
      const open = ids.filter((id) => !TERMINAL.has(final.get(id)?.status ?? ''));
      if (open.length === 0) {
        quietSince ??= Date.now();
        // A quiet second more: a late duplicate or a stray report would show up now.
        if (Date.now() - quietSince >= 1500) break;
      } else quietSince = null;
    } catch {
      // the API is restarting
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // Ids missing from the listing are asked for one by one: only a 404 makes a job lost.
  for (const id of ids) {
    if (final.has(id)) continue;
    const r = await cluster.stack
      .call<{ job: Job }>('GET', `/jobs/${encodeURIComponent(id)}`)
      .catch(() => null);
    if (r?.status === 200)
      final.set(id, { id, status: r.body.job.status, attempts: r.body.job.attempts });
    // An API that cannot answer has not forgotten the job: that is stuck (not terminal), not lost.
    else if (r?.status !== 404)
      final.set(id, {
        id,
        status: `unknown (GET answered ${r?.status ?? 'nothing'})`,
        attempts: 0,
      });
  }
  return final;
}

/** Each job's state as the queue's Scheduler object holds it (POST /admin/queues/:name/states). */
async function statesInObject(
  cluster: ChaosCluster,
  queue: string,
  ids: string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const admin = { authorization: `Bearer ${adminToken()}` };
  for (let i = 0; i < ids.length; i += 500) {
    const ask = () =>
      cluster.stack.call<{ states: Record<string, string> }>(
        'POST',
        `/admin/queues/${queue}/states`,
        { ids: ids.slice(i, i + 500) },
        admin,
      );
    // The API may still be coming back from a fault: ask again for a while before giving up.
    let r = await ask().catch(() => null);
    for (let tries = 0; r?.status !== 200 && tries < 20; tries++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await ask().catch(() => null);
    }
    if (r?.status !== 200) throw new Error(`object states answered ${r?.status ?? 'nothing'}`);
    for (const [id, status] of Object.entries(r.body.states)) out.set(id, status);
  }
  return out;
}

/** The development admin token the stack runs with (.dev.vars). */
function adminToken(): string {
  const vars = readFileSync(join(REPO_ROOT, '.dev.vars'), 'utf8');
  return /^ADMIN_TOKEN=(.*)$/m.exec(vars)?.[1]?.trim() ?? '';
}

async function listQueue(
  cluster: ChaosCluster,
  queue: string,
): Promise<Map<string, { id: string; status: string; attempts: number }>> {
  const out = new Map<string, { id: string; status: string; attempts: number }>();
  for (let offset = 0; ; offset += 500) {
    const r = await cluster.stack.call<{ jobs: Job[]; total: number }>(
      'GET',
      `/jobs?queue=${queue}&limit=500&offset=${offset}`,
    );
    if (r.status !== 200) throw new Error(`GET /jobs answered ${r.status}`);
    for (const j of r.body.jobs)
      out.set(j.id, { id: j.id, status: j.status, attempts: j.attempts });
    if (r.body.jobs.length < 500) return out;
  }
}

/** The per-fault table, one row per phase. */
export function formatTable(rows: PhaseRow[]): string {
  const cols: Array<keyof PhaseRow> = [
    'fault',
    'injected',
    'accepted',
    'succeeded',
    'failed',
    'lost',
    'stuck',
    'stale_accepted',
    'dup_recorded',
    'dup_exec',
    'unexplained',
    'late_refused',
    'late_accepted',
    'rerun_after_success',
    'd1_diverged',
    'indeterminate',
    'seconds',
  ];
  const cells = rows.map((r) =>
    cols.map((c) =>
      r.skipped && c !== 'fault' ? (c === 'accepted' ? 'skipped' : '') : String(r[c] ?? ''),
    ),
  );
  const width = cols.map((c, i) =>
    Math.max(String(c).length, ...cells.map((row) => row[i].length)),
  );
  const line = (vals: string[]) =>
    vals.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
  return [line(cols.map(String)), ...cells.map(line)].join('\n');
}

/** A small seeded generator, so a failing run can be repeated with CHAOS_SEED. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
