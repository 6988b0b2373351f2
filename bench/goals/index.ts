// The four engine goals of issue 14, each against BullMQ on a local Redis in the same run, on the
// same slots (2 nodes x 2 slots here, 2 BullMQ worker processes x concurrency 2 there):
//
//   1. echo     the same C++ runner binary spawned per job on both sides: cloud >= 1.0x BullMQ
//   2. noop     the node's `noop` type against a processor that returns at once: >= 0.5x
//   3. latency  submit-to-run seen from outside: each job calls a receiver in this process; jobs
//               submitted one a request at a steady 20/s: p50 and p99 each within 2x of BullMQ's
//   4. queues   the same no-op jobs in one queue, then over four, on the same two nodes (registered
//               with all four): four / one >= 1.0x, and how many dispatches nodes handed back busy
//
// BENCH_GOALS_SCALE (default 1) scales every job count and the paced phase's length, for quick runs.
import { startCloud, submitBatches, waitSucceeded, type Stack } from '../lib/cloud';
import { startRedis } from '../lib/bullmq';
import { machineLine, percentile, round, table, writeResult } from '../lib/report';
import {
  bullBurst,
  bullPaced,
  cloudBurst,
  cloudPaced,
  type Burst,
  type Paced,
  type Slots,
} from './phases';
import { startReceiver } from './receiver';

const SCALE = Number(process.env.BENCH_GOALS_SCALE ?? 1);
const SLOTS: Slots = { nodes: 2, capacity: 2 };
const N_ECHO = Math.round(400 * SCALE);
const N_NOOP = Math.round(1000 * SCALE);
const RATE = 20;
const N_PACED = Math.round(RATE * 30 * SCALE);
const N_QUEUES = Math.round(800 * SCALE);
const QUEUES = ['q0', 'q1', 'q2', 'q3'];

interface Goal {
  goal: string;
  unit: string;
  cloud: number;
  bullmq: number;
  /** cloud / bullmq, except goal 4: cloud's four queues / cloud's one queue. */
  ratio: number;
  target: string;
  met: boolean;
}

const latency = ({ latencies, answered }: Paced) => ({
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  samples: latencies.length,
  submit_answered_p50: percentile(answered, 50),
  submit_answered_p99: percentile(answered, 99),
});

console.log(machineLine());
console.log(
  `${SLOTS.nodes} nodes x ${SLOTS.capacity} slots (BullMQ: ${SLOTS.nodes} workers x concurrency ${SLOTS.capacity}); ` +
    `echo ${N_ECHO}, noop ${N_NOOP}, paced ${N_PACED} at ${RATE}/s, queues ${N_QUEUES} jobs (scale ${SCALE})`,
);

const receiver = await startReceiver();
const redis = await startRedis();
let stack: Stack | undefined;
const burst: Record<string, Burst> = {};
let lat: Record<'cloud' | 'bullmq', ReturnType<typeof latency>>;
try {
  stack = await startCloud({
    ...SLOTS,
    queues: QUEUES,
    nodeEnv: { HTTP_JOB_ALLOW_PRIVATE: '1' },
  });
  // Warm-up, outside every measurement: each queue's object, D1, the runner's first spawn, the
  // node's first http call.
  const warm = [
    ...QUEUES.map((queue) => ({ type: 'noop', payload: 'warm', queue })),
    { type: 'echo', payload: 'warm', queue: 'q0' },
    { type: 'http', payload: { url: receiver.url('cloud-warm', 0, 0) }, queue: 'q2' },
  ];
  for (const j of warm) await submitBatches(stack, [j]);
  for (const q of QUEUES) await waitSucceeded(stack, q, q === 'q0' || q === 'q2' ? 2 : 1, 60_000);

  const say = (name: string, b: Burst) =>
    console.log(
      `  ${name}: ${b.jobs_per_sec} jobs/s` +
        (b.requeued === undefined ? '' : `, requeued ${b.requeued}`) +
        (b.machine_busy === undefined
          ? ''
          : `, machine ${Math.round(b.machine_busy * 100)}% busy, workerd ${b.workerd_cores} cores`),
    );
  say('cloud echo', (burst.cloud_echo = await cloudBurst(stack, ['q0'], N_ECHO, 'echo')));
  say(
    'bullmq echo',
    (burst.bull_echo = await bullBurst(redis.port, 'g-echo', SLOTS, N_ECHO, 'native')),
  );
  say('cloud noop', (burst.cloud_noop = await cloudBurst(stack, ['q1'], N_NOOP, 'noop')));
  say(
    'bullmq noop',
    (burst.bull_noop = await bullBurst(redis.port, 'g-noop', SLOTS, N_NOOP, 'noop')),
  );
  lat = {
    cloud: latency(await cloudPaced(stack, 'q2', receiver, RATE, N_PACED)),
    bullmq: latency(await bullPaced(redis.port, 'g-paced', SLOTS, receiver, RATE, N_PACED)),
  };
  for (const [system, l] of Object.entries(lat))
    console.log(
      `  ${system} latency: p50 ${l.p50} ms, p99 ${l.p99} ms ` +
        `(submit answered: p50 ${l.submit_answered_p50} ms, p99 ${l.submit_answered_p99} ms)`,
    );
  say('cloud one queue', (burst.cloud_one = await cloudBurst(stack, ['q0'], N_QUEUES, 'noop')));
  say('cloud four queues', (burst.cloud_four = await cloudBurst(stack, QUEUES, N_QUEUES, 'noop')));
  say(
    'bullmq one queue',
    (burst.bull_one = await bullBurst(redis.port, 'g-one', SLOTS, N_QUEUES, 'noop')),
  );
} finally {
  await stack?.stop();
  await redis.stop();
  await receiver.close();
}

const over = (a: number, b: number) => round(a / b, 3);
const goals: Goal[] = [
  {
    goal: `1. echo through the native runner, ${N_ECHO} jobs`,
    unit: 'jobs/s',
    cloud: burst.cloud_echo.jobs_per_sec,
    bullmq: burst.bull_echo.jobs_per_sec,
    ratio: over(burst.cloud_echo.jobs_per_sec, burst.bull_echo.jobs_per_sec),
    target: '>= 1.0',
    met: burst.cloud_echo.jobs_per_sec >= burst.bull_echo.jobs_per_sec,
  },
  {
    goal: `2. no-op, ${N_NOOP} jobs`,
    unit: 'jobs/s',
    cloud: burst.cloud_noop.jobs_per_sec,
    bullmq: burst.bull_noop.jobs_per_sec,
    ratio: over(burst.cloud_noop.jobs_per_sec, burst.bull_noop.jobs_per_sec),
    target: '>= 0.5',
    met: burst.cloud_noop.jobs_per_sec >= 0.5 * burst.bull_noop.jobs_per_sec,
  },
  ...(['p50', 'p99'] as const).map((p) => ({
    goal: `3. submit-to-run latency ${p}, ${RATE} jobs/s, ${N_PACED} jobs`,
    unit: 'ms',
    cloud: lat.cloud[p],
    bullmq: lat.bullmq[p],
    ratio: over(lat.cloud[p], lat.bullmq[p]),
    target: '<= 2.0',
    met: lat.cloud[p] <= 2 * lat.bullmq[p],
  })),
  {
    // BullMQ has no slots shared across queues, so its peer figure is one queue on the same jobs.
    goal: `4. four queues vs one, ${N_QUEUES} no-op jobs (cloud: four; BullMQ: one)`,
    unit: 'jobs/s',
    cloud: burst.cloud_four.jobs_per_sec,
    bullmq: burst.bull_one.jobs_per_sec,
    ratio: over(burst.cloud_four.jobs_per_sec, burst.cloud_one.jobs_per_sec),
    target: '>= 1.0 (four / one)',
    met: burst.cloud_four.jobs_per_sec >= burst.cloud_one.jobs_per_sec,
  },
];

console.log('');
console.log(
  table([
    ['goal', 'unit', 'cloud', 'BullMQ', 'ratio', 'target', 'met'],
    ...goals.map((g) => [
      g.goal,
      g.unit,
      g.cloud,
      g.bullmq,
      g.ratio,
      g.target,
      g.met ? 'met' : 'NOT met',
    ]),
  ]),
);
console.log(
  `goal 4: one queue ${burst.cloud_one.jobs_per_sec} jobs/s (requeued ${burst.cloud_one.requeued}), ` +
    `four queues ${burst.cloud_four.jobs_per_sec} jobs/s (requeued ${burst.cloud_four.requeued}): ` +
    'requeued = dispatches nodes handed back (busy), from /metrics jobs_requeued_total',
);
const path = writeResult('goals', {
  slots: SLOTS,
  scale: SCALE,
  jobs: { echo: N_ECHO, noop: N_NOOP, paced: N_PACED, queues: N_QUEUES },
  rate_per_sec: RATE,
  bursts: burst,
  latency_ms: lat,
  goals,
});
console.log(`wrote ${path}`);
