// End-to-end: jobs per second (submitted -> succeeded) and dispatch latency (queued -> running) of
// this stack (wrangler dev + local D1 + K real worker nodes, test/e2e/harness.ts) against BullMQ on a
// local Redis with K worker processes of the same concurrency, in one run.
//
//   echo   the same C++ runner binary runs every job in both systems (a process spawn per job)
//   noop   scheduling overhead alone: BullMQ's processor returns at once; a cloud node has no no-op
//          job type, so its closest is an `http` job to a loopback server (one local round trip),
//          and `echo` on the node's wasm warm pool (no spawn) is measured too
//   paced  a steady submit rate at half of each system's echo peak: dispatch latency p50/p95/p99
//
// Peak phases submit everything at once in batches of 100 (POST /jobs/batch, queue.addBulk), so
// their latency is mostly queueing; the paced phase is the latency figure. Timestamps are the
// systems' own: cloud's created_at/started_at/finished_at, BullMQ's timestamp/processedOn/finishedOn.
import { createServer } from 'node:http';
import {
  jobTimes,
  startCloud,
  submitBatches,
  submitChunk,
  waitSucceeded,
  type JobBody,
  type JobTimes,
  type Stack,
} from '../lib/cloud';
import {
  addBatches,
  addChunk,
  bullQueue,
  bullTimes,
  startBullWorkers,
  startRedis,
  waitCompleted,
  type BullJobBody,
} from '../lib/bullmq';
import { machineLine, mean, percentile, round, sleep, table, writeResult } from '../lib/report';

const K = Number(process.env.BENCH_NODES ?? 2);
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 4);
const N_CLOUD = Number(process.env.BENCH_E2E_JOBS ?? 600);
const N_BULL = Number(process.env.BENCH_E2E_BULL_JOBS ?? 4000);
const PACED_SEC = Number(process.env.BENCH_PACED_SEC ?? 15);
const QUEUES = ['e2e-echo', 'e2e-noop', 'e2e-wasm', 'e2e-paced'];

interface Phase {
  system: 'cloud' | 'bullmq';
  work: string;
  jobs: number;
  jobs_per_sec: number;
  latency_ms: { p50: number; p95: number; p99: number; mean: number };
  /** Mean time a job held a slot (started -> finished), and the share of K*capacity slots busy. */
  slot_ms: number;
  slot_occupancy: number;
  rate_per_sec?: number;
}

function summarise(
  system: Phase['system'],
  work: string,
  times: JobTimes[],
  t0: number,
  rate?: number,
): Phase {
  const lat = times.map((j) => j.started - j.created);
  const end = Math.max(...times.map((j) => j.finished));
  const start = rate ? Math.min(...times.map((j) => j.created)) : t0;
  const jps = times.length / ((end - start) / 1000);
  const slot = mean(times.map((j) => j.finished - j.started));
  return {
    system,
    work,
    jobs: times.length,
    jobs_per_sec: round(jps, 1),
    latency_ms: {
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      mean: round(mean(lat), 1),
    },
    slot_ms: round(slot, 1),
    slot_occupancy: round((jps * slot) / 1000 / (K * CAPACITY), 2),
    ...(rate ? { rate_per_sec: round(rate, 1) } : {}),
  };
}

/** Submits `make(i)` at `rate` jobs/s for `seconds`, every 50 ms whatever is due, as one batch. */
async function paced(
  rate: number,
  seconds: number,
  send: (n: number, from: number) => Promise<void>,
): Promise<number> {
  const t0 = Date.now();
  let sent = 0;
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate)) - sent;
    if (due > 0) {
      const n = Math.min(due, 100);
      await send(n, sent);
      sent += n;
    }
    await sleep(50);
  }
  return sent;
}

// ------------------------------------------------------------------------------- cloud phases

const measured = (times: JobTimes[]) => times.filter((t) => t.payload !== 'warm');

async function cloudPeak(
  stack: Stack,
  queue: string,
  work: string,
  body: (i: number) => JobBody,
): Promise<Phase> {
  const jobs = Array.from({ length: N_CLOUD }, (_, i) => ({ ...body(i), queue }));
  const t0 = Date.now();
  await submitBatches(stack, jobs);
  await waitSucceeded(stack, queue, N_CLOUD, 600_000);
  return summarise('cloud', work, measured(await jobTimes(stack, queue)), t0);
}

async function cloudPaced(stack: Stack, rate: number): Promise<Phase> {
  const queue = 'e2e-paced';
  const n = await paced(rate, PACED_SEC, async (count, from) => {
    await submitChunk(
      stack,
      Array.from({ length: count }, (_, i) => ({ type: 'echo', payload: { i: from + i }, queue })),
    );
  });
  await waitSucceeded(stack, queue, n, 300_000);
  return summarise('cloud', 'echo (paced)', measured(await jobTimes(stack, queue)), 0, rate);
}

/**
 * Where a cloud job's slot time goes (medians), from the nodes' log lines and the Durable Object's
 * (both carry `ts`) and the API's timestamps:
 *   dispatch hop   DO marks the job running (started_at)  -> node logs job_started
 *   run            the executor's own duration_ms
 *   report in      node logs job_completed                -> DO logs job_completed (result received)
 *   report out     DO logs job_completed                  -> node logs result_reported (D1 write, answer)
 * The object writes job_completed at debug (a line per job is a cost, bench/costs): the report hops
 * are null unless the run sets BENCH_LOG_LEVEL=debug, which slows every phase by that cost.
 */
function cloudBreakdown(stack: Stack, times: JobTimes[]) {
  const byId = new Map(times.map((t) => [t.id, t]));
  const at = new Map<string, Record<string, number>>();
  const mark = (id: string, key: string, ts: unknown) => {
    if (!byId.has(id)) return;
    const m = at.get(id) ?? {};
    m[key] = Date.parse(String(ts));
    at.set(id, m);
  };
  const run: number[] = [];
  for (const node of stack.nodes) {
    for (const l of node.logs) {
      const id = String(l.job_id ?? '');
      if (l.event === 'job_started') mark(id, 'node_started', l.ts);
      if (l.event === 'job_completed') {
        mark(id, 'node_completed', l.ts);
        if (byId.has(id)) run.push(Number(l.duration_ms));
      }
      if (l.event === 'result_reported') mark(id, 'node_reported', l.ts);
    }
  }
  for (const line of stack.apiLog.join('').split('\n')) {
    const brace = line.indexOf('{"ts"');
    if (brace < 0 || !line.includes('"job_completed"')) continue;
    try {
      const l = JSON.parse(line.slice(brace)) as { ts: string; event: string; job_id: string };
      if (l.event === 'job_completed') mark(l.job_id, 'do_completed', l.ts);
    } catch {
      // a line wrangler cut in two: skip it
    }
  }
  const gaps = (from: string, to: string) =>
    [...at.entries()].flatMap(([id, m]) => {
      const a = from === 'started' ? byId.get(id)!.started : m[from];
      return a !== undefined && m[to] !== undefined ? [m[to] - a] : [];
    });
  const med = (xs: number[]) => (xs.length ? round(percentile(xs, 50), 1) : null);
  return {
    dispatch_hop_ms: med(gaps('started', 'node_started')),
    run_ms: med(run),
    report_in_ms: med(gaps('node_completed', 'do_completed')),
    report_out_ms: med(gaps('do_completed', 'node_reported')),
  };
}

// ------------------------------------------------------------------------------- BullMQ phases

async function bullPeak(
  port: number,
  name: string,
  work: string,
  mode: 'native' | 'noop',
  body: (i: number) => BullJobBody,
): Promise<Phase> {
  const queue = bullQueue(port, name);
  const workers = await startBullWorkers(port, name, K, CAPACITY, mode);
  try {
    const t0 = Date.now();
    await addBatches(
      queue,
      Array.from({ length: N_BULL }, (_, i) => body(i)),
    );
    await waitCompleted(queue, N_BULL, 300_000);
    return summarise('bullmq', work, await bullTimes(queue), t0);
  } finally {
    await workers.stop();
    await queue.close();
  }
}

async function bullPaced(port: number, rate: number): Promise<Phase> {
  const name = 'e2e-paced';
  const queue = bullQueue(port, name);
  const workers = await startBullWorkers(port, name, K, CAPACITY, 'native');
  try {
    const n = await paced(rate, PACED_SEC, (count, from) =>
      addChunk(
        queue,
        Array.from({ length: count }, (_, i) => ({ type: 'echo', payload: { i: from + i } })),
      ),
    );
    await waitCompleted(queue, n, 300_000);
    return summarise('bullmq', 'echo (paced)', await bullTimes(queue), 0, rate);
  } finally {
    await workers.stop();
    await queue.close();
  }
}

// ------------------------------------------------------------------------------- run

console.log(machineLine());
console.log(
  `K=${K} worker nodes / BullMQ workers, ${CAPACITY} slots each; ${N_CLOUD} cloud jobs, ${N_BULL} BullMQ jobs per peak phase; paced phases ${PACED_SEC} s`,
);

// The near-no-op target of cloud's `http` jobs.
const target = createServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
);
await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
const targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}/`;

const redis = await startRedis();
let stack: Stack | undefined;
const phases: Phase[] = [];
const breakdown: Record<string, ReturnType<typeof cloudBreakdown>> = {};
try {
  stack = await startCloud({
    nodes: K,
    capacity: CAPACITY,
    queues: QUEUES,
    nodeEnv: { HTTP_JOB_ALLOW_PRIVATE: 'true' },
    vars: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' },
  });
  // Warm-up: the Durable Objects, D1 and the nodes' first spawn, outside every measurement.
  for (const q of QUEUES) await submitBatches(stack, [{ type: 'echo', payload: 'warm', queue: q }]);
  for (const q of QUEUES) await waitSucceeded(stack, q, 1, 60_000);

  const say = (p: Phase) =>
    console.log(
      `  ${p.system} ${p.work}: ${p.jobs_per_sec} jobs/s, latency p50 ${p.latency_ms.p50} ms p99 ${p.latency_ms.p99} ms`,
    );
  const echoBody = (i: number) => ({ type: 'echo', payload: { i } });

  say(
    (phases[phases.length] = await cloudPeak(stack, 'e2e-echo', 'echo (native runner)', echoBody)),
  );
  breakdown.echo = cloudBreakdown(stack, measured(await jobTimes(stack, 'e2e-echo')));
  say(
    (phases[phases.length] = await bullPeak(
      redis.port,
      'e2e-echo',
      'echo (native runner)',
      'native',
      echoBody,
    )),
  );
  say(
    (phases[phases.length] = await cloudPeak(stack, 'e2e-noop', 'noop', () => ({
      type: 'http',
      payload: { url: targetUrl },
    }))),
  );
  breakdown.noop = cloudBreakdown(stack, measured(await jobTimes(stack, 'e2e-noop')));
  say((phases[phases.length] = await bullPeak(redis.port, 'e2e-noop', 'noop', 'noop', echoBody)));
  say(
    (phases[phases.length] = await cloudPeak(stack, 'e2e-wasm', 'echo (wasm warm pool)', (i) => ({
      type: 'echo',
      payload: { i },
      executor: 'wasm',
    }))),
  );

  breakdown.wasm = cloudBreakdown(stack, measured(await jobTimes(stack, 'e2e-wasm')));
  const cloudPeakJps = phases[0].jobs_per_sec;
  const bullPeakJps = phases[1].jobs_per_sec;
  say((phases[phases.length] = await cloudPaced(stack, cloudPeakJps / 2)));
  say((phases[phases.length] = await bullPaced(redis.port, bullPeakJps / 2)));
} finally {
  await stack?.stop();
  await redis.stop();
  target.close();
}

const find = (system: string, work: string) =>
  phases.find((p) => p.system === system && p.work === work)!;
const ratio = (work: string) =>
  round(find('cloud', work).jobs_per_sec / find('bullmq', work).jobs_per_sec, 3);
const echoRatio = ratio('echo (native runner)');
const noopRatio = ratio('noop');
const pacedCloud = find('cloud', 'echo (paced)');

console.log('');
console.log(
  table([
    ['system', 'work', 'jobs', 'jobs/s', 'p50 ms', 'p95 ms', 'p99 ms', 'slot ms', 'busy'],
    ...phases.map((p) => [
      p.system,
      p.work + (p.rate_per_sec ? ` @${p.rate_per_sec}/s` : ''),
      p.jobs,
      p.jobs_per_sec,
      p.latency_ms.p50,
      p.latency_ms.p95,
      p.latency_ms.p99,
      p.slot_ms,
      p.slot_occupancy,
    ]),
  ]),
);
console.log('');
console.log(
  `cloud / BullMQ jobs/s: echo ${echoRatio}, noop ${noopRatio} (cloud noop = http job to loopback)`,
);
console.log("where a cloud slot's time goes (medians, ms):");
console.log(
  table([
    ['work', 'dispatch hop', 'run', 'report in', 'report out'],
    ...Object.entries(breakdown).map(([w, b]) => [
      w,
      b.dispatch_hop_ms ?? '-',
      b.run_ms ?? '-',
      b.report_in_ms ?? '-',
      b.report_out_ms ?? '-',
    ]),
  ]),
);
const goals = {
  throughput_at_least_bullmq: { ratio: echoRatio, met: echoRatio >= 1 },
  throughput_at_least_half_bullmq: { ratio: echoRatio, met: echoRatio >= 0.5 },
  latency_p50_under_10ms_at_half_peak: {
    p50_ms: pacedCloud.latency_ms.p50,
    met: pacedCloud.latency_ms.p50 < 10,
  },
  latency_p99_under_50ms_at_half_peak: {
    p99_ms: pacedCloud.latency_ms.p99,
    met: pacedCloud.latency_ms.p99 < 50,
  },
};
for (const [name, g] of Object.entries(goals))
  console.log(`goal ${name}: ${g.met ? 'met' : 'NOT met'} (${JSON.stringify(g)})`);
const path = writeResult('e2e', {
  nodes: K,
  capacity: CAPACITY,
  phases,
  ratios: { echo: echoRatio, noop: noopRatio },
  cloud_breakdown_ms: breakdown,
  goals,
});
console.log(`wrote ${path}`);
