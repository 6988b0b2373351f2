// The Scheduler Durable Object's queue at scale: push/pop cost and memory per queued job at 10k,
// 100k and 1M queued (SeqHeap, ReadyQueue, and tinyqueue as the peer, in the same run), what the
// object's `load()` holds at once while it rebuilds (the rows of SELECT * ... toArray()), and the time
// to rebuild 100k queued jobs after a restart of wrangler dev (the real Durable Object and SQLite).
// Run as `node --expose-gc --import tsx bench/scheduler/index.ts` (npm run bench:scheduler).
// BENCH_REBUILD_JOBS sets the rebuild size (default 100000; 0 skips it).
import { heapBench, type HeapRow } from './heap';
import { rebuildBench, type RebuildResult } from './rebuild';
import { machineLine, round, table, writeResult } from '../lib/report';
import type { ActiveJob } from '../../durable-objects/store';

const SIZES = [10_000, 100_000, 1_000_000];
const REBUILD_N = Number(process.env.BENCH_REBUILD_JOBS ?? 100_000);
const DO_MEMORY_MIB = 128;

console.log(machineLine());
const rows: HeapRow[] = heapBench(SIZES);
console.log('');
console.log(
  table([
    ['structure', 'queued', 'fill ops/s', 'push us', 'pop us', 'bytes/job', 'MiB'],
    ...rows.map((r) => [
      r.structure,
      r.queued,
      r.fill_ops_per_sec,
      r.push_us,
      r.pop_us,
      r.bytes_per_job,
      r.total_mib,
    ]),
  ]),
);
const at = (s: string, n: number) => rows.find((r) => r.structure === s && r.queued === n)!;
const ratios = SIZES.map((n) => ({
  queued: n,
  push_tinyqueue_over_readyqueue: round(at('tinyqueue', n).push_us / at('ReadyQueue', n).push_us),
  pop_tinyqueue_over_readyqueue: round(at('tinyqueue', n).pop_us / at('ReadyQueue', n).pop_us),
  push_tinyqueue_over_seqheap: round(at('tinyqueue', n).push_us / at('SeqHeap', n).push_us),
  pop_tinyqueue_over_seqheap: round(at('tinyqueue', n).pop_us / at('SeqHeap', n).pop_us),
  bytes_tinyqueue_over_readyqueue: round(
    at('tinyqueue', n).bytes_per_job / at('ReadyQueue', n).bytes_per_job,
  ),
}));
console.log('');
console.log('tinyqueue / ours (above 1: ours is faster or smaller):');
console.log(
  table([
    [
      'queued',
      'push vs ReadyQueue',
      'pop vs ReadyQueue',
      'push vs SeqHeap',
      'pop vs SeqHeap',
      'bytes vs ReadyQueue',
    ],
    ...ratios.map((r) => [
      r.queued,
      r.push_tinyqueue_over_readyqueue,
      r.pop_tinyqueue_over_readyqueue,
      r.push_tinyqueue_over_seqheap,
      r.pop_tinyqueue_over_seqheap,
      r.bytes_tinyqueue_over_readyqueue,
    ]),
  ]),
);

// What load() holds at once: `jobsWithStatus('queued')` is SELECT * ... .toArray(), one object per
// queued job with its payload, before any of them is pushed. Modelled here with rows of the same
// shape as durable-objects/store.ts's ActiveJob and a small payload like the rebuild's.
function loadRowsBytesPerJob(n: number): number {
  const gc = (globalThis as { gc: () => void }).gc;
  gc();
  const before = process.memoryUsage().heapUsed;
  const held: ActiveJob[] = [];
  for (let i = 0; i < n; i++) {
    held.push({
      seq: i + 1,
      id: `default.01J${String(i).padStart(23, '0')}`,
      tenant: 'default',
      type: 'echo',
      payload: `{"i":${i}}`,
      priority: 1,
      status: 'queued',
      attempts: 0,
      failures: 0,
      lease_losses: 0,
      max_retries: 3,
      timeout_sec: 300,
      executor: null,
      token: null,
      worker_id: null,
      started_at: null,
      lease_deadline: null,
      next_attempt_at: null,
      created_at: 1_700_000_000_000 + i,
      last_error: null,
      concurrency_key: null,
      concurrency_limit: null,
      rate_limit: null,
      requires: null,
      backoff: null,
      callback_url: null,
      failure_callback_url: null,
      payload_blob: null,
      // Every job has a trace context since issue 16: a version-00 traceparent of its own.
      traceparent: `00-${String(i).padStart(32, '0')}-00f067aa0ba902b7-01`,
      tracestate: null,
    });
  }
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  if (held.length !== n) throw new Error('unreachable');
  return bytes / n;
}
const rowBytes = round(loadRowsBytesPerJob(100_000), 0);
const readyAt1M = at('ReadyQueue', 1_000_000);
const transient1M = round((rowBytes * 1_000_000) / 2 ** 20, 0);
console.log('');
console.log(
  `load(): SELECT * rows held at once ~${rowBytes} bytes/job -> ~${transient1M} MiB at 1M queued (ReadyQueue itself: ${readyAt1M.total_mib} MiB)`,
);

let rebuild: RebuildResult | undefined;
if (REBUILD_N > 0) {
  console.log('');
  console.log(
    `rebuild: queueing ${REBUILD_N} jobs in wrangler dev (no nodes), then restarting it on the same state`,
  );
  rebuild = await rebuildBench(REBUILD_N, console.log);
  console.log(
    table([
      [
        'queued',
        'first request ms',
        'warm request ms',
        'empty DO first ms',
        'empty DO warm ms',
        'rebuild ms',
        'depth after',
      ],
      [
        rebuild.queued,
        rebuild.first_request_ms,
        rebuild.warm_request_ms,
        rebuild.empty_object_first_ms,
        rebuild.empty_object_warm_ms,
        rebuild.rebuild_ms,
        rebuild.depth_after_restart,
      ],
    ]),
  );
}

const goals = {
  one_million_fit_128mib: {
    ready_queue_mib: readyAt1M.total_mib,
    load_rows_mib_at_1m: transient1M,
    met_steady_state: readyAt1M.total_mib < DO_MEMORY_MIB,
    met_during_load: readyAt1M.total_mib + transient1M < DO_MEMORY_MIB,
  },
  push_pop_under_2us_at_1m: {
    push_us: readyAt1M.push_us,
    pop_us: readyAt1M.pop_us,
    met: readyAt1M.push_us < 2 && readyAt1M.pop_us < 2,
  },
  rebuild_100k_under_1s: rebuild
    ? {
        rebuild_ms: rebuild.rebuild_ms,
        first_request_ms: rebuild.first_request_ms,
        met: rebuild.queued >= 100_000 && rebuild.rebuild_ms < 1000,
      }
    : { skipped: true },
};
console.log('');
for (const [name, g] of Object.entries(goals)) console.log(`goal ${name}: ${JSON.stringify(g)}`);
const path = writeResult('scheduler', {
  heaps: rows,
  ratios,
  load_rows_bytes_per_job: rowBytes,
  rebuild,
  goals,
});
console.log(`wrote ${path}`);
