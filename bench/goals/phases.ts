// The measured phases of bench/goals on both systems: a burst of jobs submitted at once and timed
// from the first submit to the last finish, and a paced stream timed by the receiver.
import { call, jobTimes, submitBatches, waitSucceeded, type Stack } from '../lib/cloud';
import {
  addBatches,
  bullQueue,
  bullTimes,
  startBullWorkers,
  waitCompleted,
  type BullJobBody,
} from '../lib/bullmq';
import { cpuMeter, wranglerGroup } from '../lib/cpu';
import { round } from '../lib/report';
import { parseSamples } from '../../src/core/prometheus';
import { paced, type Receiver } from './receiver';

export interface Burst {
  jobs: number;
  jobs_per_sec: number;
  /** Dispatches nodes handed back (busy, declined), from /metrics' jobs_requeued_total. Cloud only. */
  requeued?: number;
  /** Share of the machine's cores busy, and workerd's (with wrangler dev) cores. Cloud only. */
  machine_busy?: number;
  workerd_cores?: number;
}

export interface Slots {
  nodes: number;
  capacity: number;
}

async function requeuedTotal(stack: Stack, queues: string[]): Promise<number> {
  const r = await call<string>(stack, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
  let n = 0;
  for (const [k, v] of parseSamples(r.body)) {
    const m = /^\w*jobs_requeued_total\{.*queue="([^"]+)"/.exec(k);
    if (m && queues.includes(m[1])) n += v;
  }
  return n;
}

async function succeeded(stack: Stack, queue: string): Promise<number> {
  const r = await call<{ total: number }>(
    stack,
    'GET',
    `/jobs?queue=${encodeURIComponent(queue)}&status=succeeded&limit=1`,
  );
  if (r.status !== 200) throw new Error(`GET /jobs answered ${r.status}`);
  return r.body.total;
}

/**
 * `n` jobs of `type` spread round-robin over `queues`, all submitted at once (batches of 100, each
 * queue's share in its own batches); jobs/s = n / (last finish - first submit).
 */
export async function cloudBurst(
  stack: Stack,
  queues: string[],
  n: number,
  type: string,
): Promise<Burst> {
  const base = await Promise.all(queues.map((q) => succeeded(stack, q)));
  const share = queues.map((queue, k) =>
    Array.from({ length: Math.ceil((n - k) / queues.length) }, (_, j) => ({
      type,
      payload: { i: k + j * queues.length },
      queue,
    })),
  );
  const requeued0 = await requeuedTotal(stack, queues);
  const meter = cpuMeter({ workerd: wranglerGroup(new URL(stack.api).port) });
  const t0 = Date.now();
  await Promise.all(
    share.map((jobs) => submitBatches(stack, jobs, Math.max(1, Math.floor(4 / queues.length)))),
  );
  await Promise.all(
    queues.map((q, k) => waitSucceeded(stack, q, base[k] + share[k].length, 600_000, 100)),
  );
  const cpu = meter();
  const times = (await Promise.all(queues.map((q) => jobTimes(stack, q))))
    .flat()
    .filter((t) => t.created >= t0 - 5 && t.payload !== 'warm');
  if (times.length !== n)
    throw new Error(`expected ${n} cloud jobs since t0, found ${times.length}`);
  const end = Math.max(...times.map((t) => t.finished));
  return {
    jobs: n,
    jobs_per_sec: round(n / ((end - t0) / 1000), 1),
    requeued: (await requeuedTotal(stack, queues)) - requeued0,
    machine_busy: cpu.machine_busy,
    workerd_cores: cpu.cores_used.workerd,
  };
}

/** The same burst on BullMQ: K worker processes of `capacity` on a fresh queue `name`. */
export async function bullBurst(
  port: number,
  name: string,
  slots: Slots,
  n: number,
  mode: 'native' | 'noop',
): Promise<Burst> {
  const queue = bullQueue(port, name);
  const workers = await startBullWorkers(port, name, slots.nodes, slots.capacity, mode);
  try {
    const type = mode === 'native' ? 'echo' : 'noop';
    const jobs: BullJobBody[] = Array.from({ length: n }, (_, i) => ({ type, payload: { i } }));
    const t0 = Date.now();
    await addBatches(queue, jobs);
    await waitCompleted(queue, n, 600_000);
    const times = await bullTimes(queue);
    const end = Math.max(...times.map((t) => t.finished));
    return { jobs: n, jobs_per_sec: round(n / ((end - t0) / 1000), 1) };
  } finally {
    await workers.stop();
    await queue.close();
  }
}

export interface Paced {
  /** Send -> the receiver's arrival, ms, per job. */
  latencies: number[];
  /** Send -> the submit's answer (POST /jobs, queue.add), ms: the part of the latency before a queue holds it. */
  answered: number[];
}

/** Cloud's paced stream: one POST /jobs a job, each an `http` job calling the receiver. */
export async function cloudPaced(
  stack: Stack,
  queue: string,
  receiver: Receiver,
  rate: number,
  n: number,
): Promise<Paced> {
  const answered: number[] = [];
  await paced(rate, n, async (i) => {
    // The key makes call()'s retry after a dropped connection safe: it cannot submit twice.
    const key = { 'x-idempotency-key': `goals-${process.pid}-${i}` };
    const sent = Date.now();
    const url = receiver.url('cloud', i, sent);
    const r = await call(stack, 'POST', '/jobs', { type: 'http', payload: { url }, queue }, key);
    answered.push(Date.now() - sent);
    if (r.status !== 201 && r.status !== 200)
      throw new Error(`POST /jobs answered ${r.status} for job ${i}`);
  });
  await receiver.waitFor('cloud', n, 120_000);
  return { latencies: receiver.latencies('cloud'), answered };
}

/** BullMQ's paced stream: one queue.add a job, its processor fetching the receiver. */
export async function bullPaced(
  port: number,
  name: string,
  slots: Slots,
  receiver: Receiver,
  rate: number,
  n: number,
): Promise<Paced> {
  const answered: number[] = [];
  const queue = bullQueue(port, name);
  const workers = await startBullWorkers(port, name, slots.nodes, slots.capacity, 'http');
  try {
    // One warm job outside the measurement, as cloud's queue gets one.
    await queue.add('http', { type: 'http', payload: { url: receiver.url('bull-warm', 0, 0) } });
    await receiver.waitFor('bull-warm', 1, 30_000);
    await paced(rate, n, async (i) => {
      const sent = Date.now();
      const url = receiver.url('bullmq', i, sent);
      await queue.add('http', { type: 'http', payload: { url } });
      answered.push(Date.now() - sent);
    });
    await receiver.waitFor('bullmq', n, 120_000);
    return { latencies: receiver.latencies('bullmq'), answered };
  } finally {
    await workers.stop();
    await queue.close();
  }
}
