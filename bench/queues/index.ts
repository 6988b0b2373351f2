// Throughput with 1, 2 and 4 queues: the same echo jobs spread round-robin over q0..q(Q-1), each
// queue its own Scheduler Durable Object, the same K worker nodes registered with all four queues.
// Prints jobs/s and the ratio to one queue, and where the CPU went (wrangler dev with its workerd,
// the nodes, the whole machine) so a flat line can be explained.
import { call, jobTimes, startCloud, submitBatches, waitSucceeded, type Stack } from '../lib/cloud';
import { cpuMeter, wranglerGroup, type CpuReport } from '../lib/cpu';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { machineLine, percentile, round, table, writeResult } from '../lib/report';

const K = Number(process.env.BENCH_NODES ?? 2);
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 4);
const N = Number(process.env.BENCH_QUEUES_JOBS ?? 800);
const QUEUES = ['q0', 'q1', 'q2', 'q3'];

interface Row {
  queues: number;
  jobs: number;
  jobs_per_sec: number;
  latency_p50_ms: number;
  requeued: number;
  cpu: CpuReport;
}

function ownGroup(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

async function succeeded(stack: Stack, q: string): Promise<number> {
  return (await call<{ total: number }>(stack, 'GET', `/jobs?queue=${q}&status=succeeded&limit=1`))
    .body.total;
}

async function phase(stack: Stack, q: number): Promise<Row> {
  const used = QUEUES.slice(0, q);
  const base = await Promise.all(used.map((name) => succeeded(stack, name)));
  const requeuedBefore = stack.apiLog.join('').split('"job_requeued"').length;
  const jobs = Array.from({ length: N }, (_, i) => ({
    type: 'echo',
    payload: { i },
    queue: used[i % q],
  }));
  const groups: Record<string, number | undefined> = {
    'wrangler+workerd': wranglerGroup(new URL(stack.api).port),
  };
  stack.nodes.forEach((n) => (groups[n.id] = n.child.pid));
  groups['bench client'] = ownGroup();
  const meter = cpuMeter(groups);
  const t0 = Date.now();
  // A batch holds jobs of one queue: submit each queue's share in its own batches, all at once.
  await Promise.all(
    used.map((name) =>
      submitBatches(
        stack,
        jobs.filter((j) => j.queue === name),
        Math.max(1, Math.floor(4 / q)),
      ),
    ),
  );
  await Promise.all(
    used.map((name, i) =>
      waitSucceeded(stack, name, base[i] + jobs.filter((j) => j.queue === name).length, 600_000),
    ),
  );
  const cpu = meter();
  // Cores busy that none of the groups above account for: the runner processes (each in its own
  // group) and whatever else runs on the machine.
  const counted = Object.values(cpu.cores_used).reduce((a, b) => a + b, 0);
  cpu.cores_used['everything else'] = round(
    Math.max(0, cpu.machine_busy * availableParallelism() - counted),
  );
  const times = (await Promise.all(used.map((name) => jobTimes(stack, name))))
    .flat()
    .filter((t) => t.created >= t0 - 5);
  const end = Math.max(...times.map((t) => t.finished));
  return {
    queues: q,
    jobs: times.length,
    jobs_per_sec: round(times.length / ((end - t0) / 1000), 1),
    latency_p50_ms: percentile(
      times.map((t) => t.started - t.created),
      50,
    ),
    requeued: stack.apiLog.join('').split('"job_requeued"').length - requeuedBefore,
    cpu,
  };
}

console.log(machineLine());
console.log(
  `K=${K} nodes x ${CAPACITY} slots, registered with ${QUEUES.join(',')}; ${N} echo jobs per phase`,
);
const stack = await startCloud({ nodes: K, capacity: CAPACITY, queues: QUEUES });
const rows: Row[] = [];
try {
  for (const q of QUEUES) await submitBatches(stack, [{ type: 'echo', payload: 'warm', queue: q }]);
  for (const q of QUEUES) await waitSucceeded(stack, q, 1, 60_000);
  for (const q of [1, 2, 4]) {
    rows.push(await phase(stack, q));
    const r = rows[rows.length - 1];
    console.log(
      `  ${q} queue(s): ${r.jobs_per_sec} jobs/s, machine ${Math.round(r.cpu.machine_busy * 100)}% busy`,
    );
  }
} finally {
  await stack.stop();
}
const one = rows[0].jobs_per_sec;
console.log('');
console.log(
  table([
    [
      'queues',
      'jobs',
      'jobs/s',
      'vs 1 queue',
      'p50 wait ms',
      'requeued',
      'machine busy',
      ...Object.keys(rows[0].cpu.cores_used).map((k) => `${k} cores`),
    ],
    ...rows.map((r) => [
      r.queues,
      r.jobs,
      r.jobs_per_sec,
      round(r.jobs_per_sec / one),
      r.latency_p50_ms,
      r.requeued,
      `${Math.round(r.cpu.machine_busy * 100)}%`,
      ...Object.values(r.cpu.cores_used),
    ]),
  ]),
);
const ratio4 = round(rows[2].jobs_per_sec / one);
const goal = { four_queues_at_least_3x_one: { ratio: ratio4, met: ratio4 >= 3 } };
console.log('');
console.log(
  `goal four_queues_at_least_3x_one: ${goal.four_queues_at_least_3x_one.met ? 'met' : 'NOT met'} (${ratio4}x)`,
);
const path = writeResult('queues', {
  nodes: K,
  capacity: CAPACITY,
  jobs_per_phase: N,
  rows,
  ratios_vs_one: rows.map((r) => ({ queues: r.queues, ratio: round(r.jobs_per_sec / one) })),
  goal,
});
console.log(`wrote ${path}`);
