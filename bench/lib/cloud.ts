// Driving the real stack (test/e2e/harness.ts: wrangler dev on a temporary --persist-to directory
// and real worker node processes) from a benchmark: batched submits, completion polling, and the
// per-job timestamps the API keeps (created_at, started_at = dispatch, finished_at).
import { startStack, waitFor, type Stack } from '../../test/e2e/harness';
import { sleep } from './report';

export type { Stack };

export interface CloudOptions {
  nodes: number;
  capacity: number;
  queues: string[];
  /** Extra environment for every node. */
  nodeEnv?: Record<string, string>;
  vars?: Record<string, string>;
}

export async function startCloud(o: CloudOptions): Promise<Stack> {
  // No rate limit: the benchmark is the only client. Heartbeats at the harness's 1 s.
  const stack = await startStack({ vars: { RATE_LIMIT_JOBS_PER_MIN: '0', ...o.vars } });
  try {
    for (let i = 0; i < o.nodes; i++) {
      await stack.startNode({
        id: `bench-node-${i}`,
        capacity: o.capacity,
        env: { WORKER_QUEUES: o.queues.join(','), ...o.nodeEnv },
      });
    }
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

export type JobBody = Record<string, unknown>;

/** POST /jobs/batch, 100 jobs a request, `concurrency` requests in flight. Returns the job ids. */
export async function submitBatches(
  stack: Stack,
  jobs: JobBody[],
  concurrency = 4,
): Promise<string[]> {
  const chunks: JobBody[][] = [];
  for (let i = 0; i < jobs.length; i += 100) chunks.push(jobs.slice(i, i + 100));
  const ids: string[][] = new Array(chunks.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < chunks.length; i = next++)
      ids[i] = await submitChunk(stack, chunks[i]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, lane));
  return ids.flat();
}

let chunkSeq = 0;

export async function submitChunk(stack: Stack, jobs: JobBody[]): Promise<string[]> {
  // An idempotency key makes a retry after a dropped connection safe: it cannot submit twice.
  const key = { 'x-idempotency-key': `bench-${process.pid}-${Date.now()}-${chunkSeq++}` };
  for (let tries = 0; ; tries++) {
    const r = await call<{ ids: string[] }>(stack, 'POST', '/jobs/batch', { jobs }, key);
    if (r.status === 201 || r.status === 200) return r.body.ids;
    // 503 storage_unavailable under load is the API's own back-pressure: retry it a few times.
    if (r.status !== 503 || tries >= 5)
      throw new Error(
        `POST /jobs/batch answered ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`,
      );
    await sleep(200 * (tries + 1));
  }
}

/** stack.call, retried on a dropped connection (wrangler dev under load closes one now and then). */
export async function call<T = any>(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  for (let tries = 0; ; tries++) {
    try {
      return await stack.call<T>(method, path, body, headers);
    } catch (err) {
      if (tries >= 5) throw err;
      await sleep(100 * (tries + 1));
    }
  }
}

async function count(stack: Stack, queue: string, status: string): Promise<number> {
  const r = await call<{ total: number }>(
    stack,
    'GET',
    `/jobs?queue=${encodeURIComponent(queue)}&status=${status}&limit=1`,
  );
  if (r.status !== 200) throw new Error(`GET /jobs answered ${r.status}`);
  return r.body.total;
}

/** Waits until `n` jobs of `queue` succeeded; throws if any failed or the deadline passes. */
export async function waitSucceeded(
  stack: Stack,
  queue: string,
  n: number,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  await waitFor(
    `${n} jobs of ${queue} to succeed`,
    async () => {
      const done = await count(stack, queue, 'succeeded');
      if (done >= n) return true;
      const failed = await count(stack, queue, 'failed');
      if (failed > 0) throw new Error(`${failed} jobs of ${queue} failed`);
      return false;
    },
    timeoutMs,
    intervalMs,
  );
}

export interface JobTimes {
  id: string;
  priority: number;
  type: string;
  payload: unknown;
  created: number;
  started: number;
  finished: number;
}

/** Every job of `queue` with its timestamps (ms since the epoch), 500 a page. */
export async function jobTimes(stack: Stack, queue: string): Promise<JobTimes[]> {
  const out: JobTimes[] = [];
  for (let offset = 0; ; offset += 500) {
    const r = await call<{ jobs: any[]; total: number }>(
      stack,
      'GET',
      `/jobs?queue=${encodeURIComponent(queue)}&limit=500&offset=${offset}`,
    );
    if (r.status !== 200) throw new Error(`GET /jobs answered ${r.status}`);
    for (const j of r.body.jobs) {
      out.push({
        id: j.id,
        priority: j.priority,
        type: j.type,
        payload: j.payload,
        created: Date.parse(j.created_at),
        started: j.started_at ? Date.parse(j.started_at) : NaN,
        finished: j.finished_at ? Date.parse(j.finished_at) : NaN,
      });
    }
    if (offset + 500 >= r.body.total) return out;
  }
}
