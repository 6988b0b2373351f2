// What one job costs the stack, measured on the real stack (wrangler dev, local D1, one node): CPU
// of workerd and of the node per job, statements on the queue object's SQLite, D1 statements (the
// object's and the API's), and HTTP requests by route, all divided by the jobs run. The counts come
// from the product's own /metrics (durable-objects/metering.ts, src/api/middleware/cost-meter.ts),
// the CPU from /proc, and the hottest functions from a CPU profile of workerd over its inspector.
// It then puts the counts against Cloudflare's published prices (PRICES below, with their date).
//
// The peer in the same run is BullMQ on a local Redis doing the same no-op jobs: its Redis commands
// per job (INFO commandstats) and its CPU per job, so each figure has something to stand beside.
import { startCloud, submitBatches, waitSucceeded, call, type Stack } from '../lib/cloud';
import { bullQueue, startBullWorkers, startRedis, waitCompleted, addBatches } from '../lib/bullmq';
import { cpuMeter, groupByCommand, wranglerGroup } from '../lib/cpu';
import { startProfile } from '../lib/profile';
import { machineLine, round, table, writeResult } from '../lib/report';
import { costTable, PRICES } from './prices';
import { parseSamples as samples } from '../../src/core/prometheus';

const N = Number(process.env.BENCH_COSTS_JOBS ?? 400);
const QUEUE = 'costs-noop';

type Samples = Map<string, number>;

async function scrape(stack: Stack): Promise<Samples> {
  const r = await call<string>(stack, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
  return samples(r.body);
}

function delta(before: Samples, after: Samples, pick: (name: string) => boolean): number {
  let d = 0;
  for (const [k, v] of after) if (pick(k)) d += v - (before.get(k) ?? 0);
  return d;
}

/** Requests by route the run caused, leaving out the benchmark's own /metrics and /jobs polling. */
function requestsByRoute(before: Samples, after: Samples): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const m = /^api_requests_total\{method="(\w+)",route="([^"]*)",status="(\d+)"\}$/.exec(k);
    if (!m || m[2] === '/metrics' || (m[1] === 'GET' && m[2] === '/jobs')) continue;
    const route = `${m[1]} ${m[2]}`;
    out[route] = (out[route] ?? 0) + v - (before.get(k) ?? 0);
  }
  return Object.fromEntries(Object.entries(out).filter(([, n]) => n > 0));
}

async function cloudRun() {
  const stack = await startCloud({ nodes: 1, capacity: 4, queues: [QUEUE] });
  try {
    // Warm: the first jobs pay for module loading and the object's first start.
    await submitBatches(stack, [{ type: 'noop', payload: 'warm', queue: QUEUE }]);
    await waitSucceeded(stack, QUEUE, 1, 60_000);
    const before = await scrape(stack);
    const group = wranglerGroup(new URL(stack.api).port);
    if (group === undefined) throw new Error('wrangler dev process group not found');
    const cpu = cpuMeter({ wrangler: group, node: stack.nodes[0].child.pid });
    const byCommand = groupByCommand(group);
    const profiler = await startProfile(stack.inspector);
    const t0 = performance.now();
    await submitBatches(
      stack,
      Array.from({ length: N }, (_, i) => ({ type: 'noop', payload: { i }, queue: QUEUE })),
    );
    await waitSucceeded(stack, QUEUE, N + 1, 300_000, 500);
    const sec = (performance.now() - t0) / 1000;
    const profile = await profiler.stop();
    const used = cpu();
    const commands = byCommand();
    const after = await scrape(stack);
    const q = (family: string) => (k: string) => k.startsWith(`${family}{queue="${QUEUE}"`);
    const per = (n: number) => round(n / N, 2);
    const routes = requestsByRoute(before, after);
    return {
      jobs: N,
      seconds: round(sec, 1),
      jobs_per_sec: round(N / sec, 1),
      per_job: {
        // workerd alone (the Worker and every object); wrangler's node process relays its console.
        workerd_cpu_ms: round(((commands.workerd ?? NaN) * 1000) / N, 2),
        wrangler_cpu_ms: round(
          (((used.cores_used.wrangler ?? NaN) * sec - (commands.workerd ?? 0)) * 1000) / N,
          2,
        ),
        node_cpu_ms: round(((used.cores_used.node ?? NaN) * sec * 1000) / N, 2),
        storage_reads: per(
          delta(
            before,
            after,
            (k) => q('scheduler_storage_statements_total')(k) && k.includes('read'),
          ),
        ),
        storage_writes: per(
          delta(
            before,
            after,
            (k) => q('scheduler_storage_statements_total')(k) && k.includes('write'),
          ),
        ),
        d1_statements_object: per(delta(before, after, q('scheduler_d1_statements_total'))),
        d1_statements_api: per(delta(before, after, (k) => k === 'api_d1_statements_total')),
        requests_to_api: per(Object.values(routes).reduce((a, b) => a + b, 0)),
        requests_to_nodes: per(delta(before, after, q('scheduler_outbound_requests_total'))),
      },
      requests_by_route_per_job: Object.fromEntries(
        Object.entries(routes).map(([r, n]) => [r, per(n)]),
      ),
      machine_busy: used.machine_busy,
      profile,
    };
  } finally {
    await stack.stop();
  }
}

async function bullRun() {
  const redis = await startRedis();
  try {
    const queue = bullQueue(redis.port, QUEUE);
    const workers = await startBullWorkers(redis.port, QUEUE, 1, 4, 'noop');
    try {
      const stats0 = redis.commands();
      const cpu = cpuMeter({ redis: redis.pgid, worker: workers.pgids[0] });
      const t0 = performance.now();
      await addBatches(
        queue,
        Array.from({ length: N }, (_, i) => ({ type: 'noop', payload: { i } })),
      );
      await waitCompleted(queue, N, 120_000);
      const sec = (performance.now() - t0) / 1000;
      const used = cpu();
      const commands = redis.commands() - stats0;
      return {
        jobs: N,
        seconds: round(sec, 2),
        jobs_per_sec: round(N / sec, 1),
        per_job: {
          redis_cpu_ms: round(((used.cores_used.redis ?? NaN) * sec * 1000) / N, 2),
          worker_cpu_ms: round(((used.cores_used.worker ?? NaN) * sec * 1000) / N, 2),
          redis_commands: round(commands / N, 2),
        },
      };
    } finally {
      await workers.stop();
      await queue.close();
    }
  } finally {
    await redis.stop();
  }
}

async function main() {
  console.log(machineLine());
  const cloud = await cloudRun();
  const bull = await bullRun();
  const c = cloud.per_job;
  console.log(
    table([
      ['per no-op job', 'cloud', 'BullMQ'],
      ['CPU ms, server side (workerd | Redis)', c.workerd_cpu_ms, bull.per_job.redis_cpu_ms],
      ['CPU ms, worker side (node | worker)', c.node_cpu_ms, bull.per_job.worker_cpu_ms],
      ["CPU ms, wrangler dev's relay (local only)", c.wrangler_cpu_ms, '-'],
      [
        'storage statements (object SQLite | Redis commands)',
        round(c.storage_reads + c.storage_writes),
        bull.per_job.redis_commands,
      ],
      ['  of which writes', c.storage_writes, '-'],
      ['D1 statements (object + API)', round(c.d1_statements_object + c.d1_statements_api), '-'],
      ['HTTP requests to the API', c.requests_to_api, '-'],
      ['HTTP requests to nodes', c.requests_to_nodes, '-'],
      ['jobs/s in this run', cloud.jobs_per_sec, bull.jobs_per_sec],
    ]),
  );
  console.log(`\nrequests by route, per job: ${JSON.stringify(cloud.requests_by_route_per_job)}`);
  console.log(
    `\nworkerd CPU profile (${cloud.profile.total_ms} ms sampled, ${cloud.profile.idle_ms} idle), hottest functions:`,
  );
  console.log(
    table([
      ['function', 'where', 'self ms', 'share', 'mostly called from'],
      ...cloud.profile.top.map((f) => [f.name, f.where, f.self_ms, f.share, f.via]),
    ]),
  );
  const prices = costTable(c);
  console.log(`\nOn Cloudflare at published prices (${PRICES.as_of}):`);
  console.log(
    table([['item', 'per million jobs (USD)'], ...prices.rows.map((r) => [r.item, r.usd])]),
  );
  console.log(prices.note);
  const path = writeResult('costs', { cloud, bullmq: bull, cloudflare: prices });
  console.log(`\nwritten to ${path}`);
}

await main();
