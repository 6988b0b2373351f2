/**
 * Wire version 2 with real processes: the real API (wrangler dev), real worker node processes and
 * the real node job types. A push node and a pull node each run a burst of jobs, and the API's own
 * request counters (/metrics, `api_requests_total` by route) show fewer result requests than jobs:
 * results travel in batches, and a pull node's ride its lease requests. Every job succeeds exactly
 * once (one attempt, started once on its node).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSamples } from '../../src/core/prometheus';
import type { Job } from '../../src/protocol/job';
import { startStack, waitFor, type NodeProcess, type Stack } from './harness';

const N = 40;

/** Requests the API answered on routes that carry results: the batched route and the per-job one. */
async function resultRequests(stack: Stack): Promise<{ batched: number; perJob: number }> {
  const r = await stack.call<string>('GET', '/metrics');
  expect(r.status).toBe(200);
  let batched = 0;
  let perJob = 0;
  for (const [k, v] of parseSamples(r.body)) {
    const m = /^api_requests_total\{method="POST",route="([^"]*)",status="\d+"\}$/.exec(k);
    if (m?.[1] === '/workers/:id/results') batched += v;
    if (m?.[1] === '/jobs/:id/result') perJob += v;
  }
  return { batched, perJob };
}

async function runBurst(stack: Stack, node: NodeProcess): Promise<Job[]> {
  const res = await stack.call<{ jobs: Job[] }>('POST', '/jobs/batch', {
    jobs: Array.from({ length: N }, (_, i) => ({ type: 'noop', payload: { i } })),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const done = await Promise.all(
    res.body.jobs.map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'], 60_000)),
  );
  expect(done.map((j) => j.status)).toEqual(Array(N).fill('succeeded'));
  // Exactly once: one attempt each, started once on the node, reported once.
  expect(done.map((j) => j.attempts)).toEqual(Array(N).fill(1));
  const ids = new Set(done.map((j) => j.id));
  const started = node.events('job_started').filter((l) => ids.has(String(l.job_id)));
  expect(started).toHaveLength(N);
  expect(new Set(started.map((l) => l.job_id)).size).toBe(N);
  const reported = node.events('result_reported').filter((l) => ids.has(String(l.job_id)));
  expect(reported).toHaveLength(N);
  return done;
}

describe('one exchange per round trip (wire version 2)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterEach(async () => {
    await Promise.all(stack.nodes.map((n) => n.kill()));
    await waitFor('an empty registry', async () => (await stack.workers()).length === 0, 20_000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a push node reports a burst of results in fewer requests than jobs, over the batched route', async () => {
    const node = await stack.startNode({ id: 'batcher', capacity: 4 });
    expect(node.events('worker_registered')[0]).toMatchObject({ protocol: 3 });
    const before = await resultRequests(stack);
    await runBurst(stack, node);
    const after = await resultRequests(stack);
    const batched = after.batched - before.batched;
    expect(after.perJob - before.perJob).toBe(0);
    expect(batched).toBeGreaterThan(0);
    expect(batched).toBeLessThan(N);
    // Some request carried several results.
    expect(node.events('result_reported').some((l) => Number(l.batch) > 1)).toBe(true);
  });

  it('a pull node carries its results on its lease requests, with a prefetched job per node', async () => {
    const node = await stack.startNode({
      id: 'exchanger',
      capacity: 2,
      env: {
        WORKER_MODE: 'pull',
        WORKER_ENDPOINT: '',
        WORKER_PORT: '',
        WORKER_BIND: '',
        LEASE_WAIT_SEC: '5',
        PREFETCH: '1',
      },
    });
    expect(node.events('worker_registered')[0]).toMatchObject({ protocol: 3 });
    const before = await resultRequests(stack);
    await runBurst(stack, node);
    const after = await resultRequests(stack);
    expect(after.perJob - before.perJob).toBe(0);
    // Prefetched: leased while both slots were busy, started when one freed (once, as every job).
    expect(node.events('job_queued').length).toBeGreaterThan(0);
    const viaLease = node.events('result_reported').filter((l) => l.via === 'lease');
    expect(viaLease.length).toBeGreaterThan(0);
    // Requests made only to report: fewer than the jobs, since results rode the leases.
    expect(after.batched - before.batched).toBeLessThan(N);
  });
});
