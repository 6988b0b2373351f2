// What the flow-control limits of issue 17 cost, and whether they hold, measured from outside: every
// job is an `http` job whose only work is one call to a receiver in this process
// (test/chaos/flow-receiver.ts), which records each run's start and end on one clock.
//
//   plain    N jobs, no limits
//   limits   the same N jobs, each with a rate limit (8 keys), and the queue capped at its slots:
//            limits that never bind, so the difference is their bookkeeping (debounce and dedup are
//            refused in a batch, and one request a job would measure the submit instead)
//   binding  M jobs held 100 ms under limits that bind: 10 starts per key per 2 s over 2 keys
//            and a queue cap of 2 of the 4 slots; throughput against the most those limits allow
//
// Throughput is jobs over the time from the first submission to the last run's end (as the
// receiver saw it). Violations (test/chaos/flow-checker.ts): over-limit starts and starts over the
// cap; the goal is zero. BENCH_FLOW_SCALE (default 1) scales N and M.
import { checkFlow, type FlowSubmission } from '../../test/chaos/flow-checker';
import { startFlowReceiver, type FlowReceiver } from '../../test/chaos/flow-receiver';
import { call, startCloud, submitBatches, waitSucceeded, type Stack } from '../lib/cloud';
import { machineLine, round, sleep, table, writeResult } from '../lib/report';

const SCALE = Number(process.env.BENCH_FLOW_SCALE ?? 1);
const SLOTS = { nodes: 2, capacity: 2 };
const N = Math.round(300 * SCALE);
const M = Math.round(120 * SCALE);
const BIND = { limit: 10, period_sec: 2, keys: 2, cap: 2, holdMs: 100 };
// No faults here: a dispatch reaches the receiver within this of the engine's decision (the chaos
// phase allows FLOW_JITTER_MS, for restarts and a loaded machine).
const JITTER_MS = 300;
const QUEUES = ['flow-plain', 'flow-limits', 'flow-binding'];

interface Run {
  name: string;
  queue: string;
  jobs: number;
  jobs_per_sec: number;
  /** The throughput the limits allow, when they bind. */
  allowed_per_sec?: number;
  max_running: number;
  violations: number;
  reruns: number;
  /** The shortest time `limit + 1` starts of one rate key took (the period is the floor). */
  rate_min_span_ms: number | null;
}

interface Job {
  token: string;
  holdMs: number;
  fields: Record<string, unknown>;
  rate?: FlowSubmission['rate'];
}

async function measure(
  stack: Stack,
  receiver: FlowReceiver,
  name: string,
  queue: string,
  jobs: Job[],
  queueCap?: number,
): Promise<Run> {
  const bodies = jobs.map((j) => ({
    type: 'http',
    payload: { url: receiver.url(j.token, j.holdMs) },
    queue,
    ...j.fields,
  }));
  const t0 = Date.now();
  const ids = await submitBatches(stack, bodies);
  const answeredAt = Date.now();
  await waitSucceeded(stack, queue, jobs.length, 300_000, 100);
  const mine = new Set(jobs.map((j) => j.token));
  const arrivals = receiver.arrivals().filter((a) => mine.has(a.token));
  const end = Math.max(...arrivals.map((a) => a.end ?? Date.now()));
  const { counts, violations } = checkFlow({
    submissions: jobs.map((j, i) => ({
      token: j.token,
      sentAt: t0,
      answeredAt,
      jobId: ids[i],
      rate: j.rate,
    })),
    arrivals,
    queueCap,
    pauses: [],
    jitterMs: JITTER_MS,
  });
  for (const v of violations.slice(0, 5)) console.log(`    ${name}: ${v}`);
  const run: Run = {
    name,
    queue,
    jobs: jobs.length,
    jobs_per_sec: round((jobs.length * 1000) / (end - t0), 1),
    max_running: counts.max_running,
    violations: violations.length,
    reruns: counts.reruns,
    rate_min_span_ms: counts.rate_min_span_ms,
  };
  console.log(
    `  ${name}: ${run.jobs_per_sec} jobs/s, at most ${run.max_running} running, ${run.violations} violations`,
  );
  return run;
}

const jobsOf = (run: string, n: number, holdMs: number, fields: (i: number) => Job['fields']) =>
  Array.from({ length: n }, (_, i): Job => {
    const f = fields(i);
    const rl = f.rate_limit as { key: string; limit: number; period_sec: number } | undefined;
    return {
      token: `${run}-${i}`,
      holdMs,
      fields: f,
      rate: rl && { key: rl.key, limit: rl.limit, periodMs: rl.period_sec * 1000 },
    };
  });

async function capQueue(stack: Stack, queue: string, limit: number): Promise<void> {
  const r = await call(stack, 'PUT', `/queues/${queue}`, { concurrency_limit: limit });
  if (r.status !== 200)
    throw new Error(`PUT /queues/${queue} answered ${r.status}: ${JSON.stringify(r.body)}`);
}

console.log(machineLine());
console.log(
  `${SLOTS.nodes} nodes x ${SLOTS.capacity} slots; plain and limits ${N} jobs each, binding ${M} ` +
    `(${BIND.limit} per ${BIND.period_sec} s per key x ${BIND.keys} keys, cap ${BIND.cap}); scale ${SCALE}`,
);
const receiver = await startFlowReceiver();
const slots = SLOTS.nodes * SLOTS.capacity;
const runs: Run[] = [];
let stack: Stack | undefined;
try {
  stack = await startCloud({ ...SLOTS, queues: QUEUES, nodeEnv: { HTTP_JOB_ALLOW_PRIVATE: '1' } });
  await capQueue(stack, 'flow-limits', slots);
  await capQueue(stack, 'flow-binding', BIND.cap);
  // Warm-up outside every measurement: each queue's object, D1, the nodes' first http call.
  for (const q of QUEUES)
    await submitBatches(stack, [
      { type: 'http', payload: { url: receiver.url(`warm-${q}`, 0) }, queue: q },
    ]);
  for (const q of QUEUES) await waitSucceeded(stack, q, 1, 60_000);
  await sleep(500);

  runs.push(
    await measure(
      stack,
      receiver,
      'plain',
      'flow-plain',
      jobsOf('plain', N, 20, () => ({})),
    ),
  );
  runs.push(
    await measure(
      stack,
      receiver,
      'limits',
      'flow-limits',
      jobsOf('limits', N, 20, (i) => ({
        rate_limit: { key: `k${i % 8}`, limit: 10_000, period_sec: 60 },
      })),
      slots,
    ),
  );
  const binding = await measure(
    stack,
    receiver,
    'binding',
    'flow-binding',
    jobsOf('binding', M, BIND.holdMs, (i) => ({
      rate_limit: { key: `b${i % BIND.keys}`, limit: BIND.limit, period_sec: BIND.period_sec },
    })),
    BIND.cap,
  );
  // The fastest the limits let M jobs finish: a window's worth of starts at once, the next window's
  // a period later, each held BIND.holdMs; or the cap's pace, if that is slower.
  const byRate = (Math.ceil(M / (BIND.limit * BIND.keys)) - 1) * BIND.period_sec * 1000;
  const byCap = (M * BIND.holdMs) / BIND.cap;
  binding.allowed_per_sec = round((M * 1000) / (Math.max(byRate, byCap) + BIND.holdMs), 1);
  runs.push(binding);
} finally {
  await stack?.stop();
  await receiver.close();
}

const [plain, limits, binding] = runs;
const ratio = round(limits.jobs_per_sec / plain.jobs_per_sec, 3);
const efficiency = round(binding.jobs_per_sec / binding.allowed_per_sec!, 3);
const violations = runs.reduce((s, r) => s + r.violations, 0);
console.log('');
console.log(
  table([
    ['run', 'jobs', 'jobs/s', 'allowed/s', 'max running', 'tightest rate span ms', 'violations'],
    ...runs.map((r) => [
      r.name,
      r.jobs,
      r.jobs_per_sec,
      r.allowed_per_sec ?? '',
      r.max_running,
      r.rate_min_span_ms ?? '',
      r.violations,
    ]),
  ]),
);
console.log(
  `limits / plain: ${ratio}; binding: ${efficiency} of the throughput its limits allow; ` +
    `violations ${violations} (goal 0)`,
);
const path = writeResult('flow', {
  slots: SLOTS,
  scale: SCALE,
  binding_limits: BIND,
  runs,
  limits_over_plain: ratio,
  binding_efficiency: efficiency,
  violations,
});
console.log(`wrote ${path}`);
if (violations > 0) process.exit(1);
