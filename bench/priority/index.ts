// Priority scheduling against FIFO on a mixed workload, on the real stack (wrangler dev + real worker
// nodes running `sleep` jobs in the C++ runner, so the work is deterministic):
//   long   LONG_N jobs of LONG_MS, all submitted at t=0 (a backlog of background work)
//   short  SHORT_N jobs of SHORT_MS arriving one every SHORT_EVERY_MS from t=0 (interactive work)
// Run twice with the same arrivals, each in its own queue: FIFO (every job priority 1) and with
// priorities (long 2, short 0). Mean and p95 of wait (created -> started) and completion
// (created -> finished) per class, and the change in the short class's mean completion time.
import {
  jobTimes,
  startCloud,
  submitChunk,
  waitSucceeded,
  type JobTimes,
  type Stack,
} from '../lib/cloud';
import { machineLine, mean, percentile, round, sleep, table, writeResult } from '../lib/report';

const NODES = 2;
const CAPACITY = 2;
const LONG_N = Number(process.env.BENCH_LONG_JOBS ?? 40);
const LONG_MS = 500;
const SHORT_N = Number(process.env.BENCH_SHORT_JOBS ?? 40);
const SHORT_MS = 50;
const SHORT_EVERY_MS = 125;

interface ClassStats {
  jobs: number;
  wait_mean_ms: number;
  wait_p95_ms: number;
  completion_mean_ms: number;
  completion_p95_ms: number;
}

function stats(times: JobTimes[]): ClassStats {
  const wait = times.map((t) => t.started - t.created);
  const done = times.map((t) => t.finished - t.created);
  return {
    jobs: times.length,
    wait_mean_ms: round(mean(wait), 0),
    wait_p95_ms: percentile(wait, 95),
    completion_mean_ms: round(mean(done), 0),
    completion_p95_ms: percentile(done, 95),
  };
}

async function run(stack: Stack, queue: string, withPriorities: boolean) {
  const long = { type: 'sleep', payload: { ms: LONG_MS }, priority: withPriorities ? 2 : 1, queue };
  const short = {
    type: 'sleep',
    payload: { ms: SHORT_MS },
    priority: withPriorities ? 0 : 1,
    queue,
  };
  const t0 = Date.now();
  const submits: Promise<string[]>[] = [
    submitChunk(
      stack,
      Array.from({ length: LONG_N }, () => long),
    ),
  ];
  for (let i = 0; i < SHORT_N; i++) {
    await sleep(Math.max(0, t0 + i * SHORT_EVERY_MS - Date.now()));
    submits.push(submitChunk(stack, [short]));
  }
  await Promise.all(submits);
  await waitSucceeded(stack, queue, LONG_N + SHORT_N, 120_000);
  const times = (await jobTimes(stack, queue)).filter((t) => t.type === 'sleep'); // not the warm-up echo
  const isShort = (t: JobTimes) => (t.payload as { ms: number }).ms === SHORT_MS;
  return {
    short: stats(times.filter(isShort)),
    long: stats(times.filter((t) => !isShort(t))),
    all: stats(times),
  };
}

console.log(machineLine());
console.log(
  `${NODES} nodes x ${CAPACITY} slots; long: ${LONG_N} x sleep ${LONG_MS} ms at t=0; short: ${SHORT_N} x sleep ${SHORT_MS} ms, one every ${SHORT_EVERY_MS} ms`,
);
const queues = ['prio-fifo', 'prio-priority'];
const stack = await startCloud({ nodes: NODES, capacity: CAPACITY, queues });
let fifo: Awaited<ReturnType<typeof run>>;
let prio: Awaited<ReturnType<typeof run>>;
try {
  // Warm-up (Durable Objects, D1, the first spawn) outside the measurement, in a queue of its own.
  for (const q of queues) await submitChunk(stack, [{ type: 'echo', payload: 'warm', queue: q }]);
  for (const q of queues) await waitSucceeded(stack, q, 1, 60_000);
  fifo = await run(stack, 'prio-fifo', false);
  prio = await run(stack, 'prio-priority', true);
} finally {
  await stack.stop();
}

const improvement = (a: number, b: number) => round((1 - b / a) * 100, 1);
const shortGain = improvement(fifo.short.completion_mean_ms, prio.short.completion_mean_ms);
const allGain = improvement(fifo.all.completion_mean_ms, prio.all.completion_mean_ms);
const longCost = improvement(fifo.long.completion_mean_ms, prio.long.completion_mean_ms);
console.log('');
console.log(
  table([
    ['run', 'class', 'jobs', 'wait mean', 'wait p95', 'completion mean', 'completion p95'],
    ...(['fifo', 'priority'] as const).flatMap((name) => {
      const r = name === 'fifo' ? fifo : prio;
      return (['short', 'long', 'all'] as const).map((c) => [
        name,
        c,
        r[c].jobs,
        r[c].wait_mean_ms,
        r[c].wait_p95_ms,
        r[c].completion_mean_ms,
        r[c].completion_p95_ms,
      ]);
    }),
  ]),
);
console.log('');
console.log(
  `short/high class mean completion: ${fifo.short.completion_mean_ms} ms FIFO -> ${prio.short.completion_mean_ms} ms with priorities: ${shortGain}% lower (the original project claimed ~35%)`,
);
console.log(`all jobs mean completion: ${allGain}% lower; long/low class: ${-longCost}% higher`);
const path = writeResult('priority', {
  workload: {
    nodes: NODES,
    capacity: CAPACITY,
    long: { n: LONG_N, ms: LONG_MS },
    short: { n: SHORT_N, ms: SHORT_MS, every_ms: SHORT_EVERY_MS },
  },
  fifo,
  priority: prio,
  short_mean_completion_improvement_pct: shortGain,
  all_mean_completion_improvement_pct: allGain,
  long_mean_completion_change_pct: -longCost,
});
console.log(`wrote ${path}`);
