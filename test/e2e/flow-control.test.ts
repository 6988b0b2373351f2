/**
 * Issue 17 with real nodes: a rate-limited key never starts more than its limit in a window while
 * unlimited jobs keep every free slot, and a queue's pause, resume and cap hold on real nodes. Jobs
 * are `http` jobs that call a receiver here, which records when each arrives and how many of a group
 * are in flight at once (it holds each call open for the job's `hold` ms): what the limits look like
 * from outside the scheduler, next to the scheduler's own start times.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitFor, type Stack } from './harness';

interface Group {
  arrivals: number[];
  inFlight: number;
  maxInFlight: number;
}

async function startReceiver() {
  const groups = new Map<string, Group>();
  const group = (name: string) => {
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { arrivals: [], inFlight: 0, maxInFlight: 0 }));
    return g;
  };
  const server: Server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://receiver').searchParams;
    const g = group(q.get('g') ?? '');
    g.arrivals.push(Date.now());
    g.inFlight++;
    g.maxInFlight = Math.max(g.maxInFlight, g.inFlight);
    setTimeout(
      () => {
        g.inFlight--;
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      },
      Number(q.get('hold') ?? 0),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return {
    url: (g: string, hold: number) => `${base}?g=${g}&hold=${hold}`,
    group,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The smallest gap between a start and the `limit`-th start after it: at least the period when the limit held. */
function tightestWindow(times: number[], limit: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let min = Infinity;
  for (let i = 0; i + limit < sorted.length; i++)
    min = Math.min(min, sorted[i + limit] - sorted[i]);
  return min;
}

describe('flow control with real nodes', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const httpJob = (queue: string, g: string, hold: number, extra: Record<string, unknown> = {}) =>
    stack.submit({ type: 'http', queue, payload: { url: receiver.url(g, hold) }, ...extra });

  beforeAll(async () => {
    receiver = await startReceiver();
    stack = await startStack();
    const env = { HTTP_JOB_ALLOW_PRIVATE: 'true', WORKER_QUEUES: 'flow-rate,flow-ctl' };
    await Promise.all([
      stack.startNode({ id: 'flow-a', capacity: 3, env }),
      stack.startNode({ id: 'flow-b', capacity: 3, env }),
    ]);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('starts at most `limit` jobs of a key per window while unlimited jobs keep running', async () => {
    const rate_limit = { key: 'customer-7', limit: 2, period_sec: 3 };
    const limited = [];
    for (let i = 0; i < 6; i++)
      limited.push(await httpJob('flow-rate', 'limited', 100, { rate_limit }));
    const free = [];
    for (let i = 0; i < 8; i++) free.push(await httpJob('flow-rate', 'free', 800));
    const done = await Promise.all(
      [...limited, ...free].map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'], 60_000)),
    );
    expect(done.map((j) => j.status)).toEqual(done.map(() => 'succeeded'));
    // The scheduler's own start times: exactly within the limit.
    const starts = done.slice(0, 6).map((j) => Date.parse(j.started_at!));
    expect(tightestWindow(starts, 2)).toBeGreaterThanOrEqual(3000);
    // Seen from outside: an arrival is its start plus the dispatch's trip to the node and the node's
    // request here, which differ by a few ms from job to job, so the receiver's window is allowed
    // 250 ms of that trip. A third start within the window would show as a gap near 0, not 2.75 s.
    const arrivals = receiver.group('limited').arrivals;
    expect(arrivals).toHaveLength(6);
    expect(tightestWindow(arrivals, 2)).toBeGreaterThanOrEqual(3000 - 250);
    // The unlimited jobs were not held behind the waiting ones: all of them arrived before the
    // limited key's third window opened, with up to 6 slots in use.
    const thirdWindow = [...arrivals].sort((a, b) => a - b)[4];
    const free_ = receiver.group('free');
    expect(free_.arrivals).toHaveLength(8);
    expect(Math.max(...free_.arrivals)).toBeLessThan(thirdWindow);
    expect(free_.maxInFlight).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('pause starts nothing and lets running jobs finish; a cap bounds the running jobs; resume runs them', async () => {
    const running = [
      await httpJob('flow-ctl', 'before', 1500),
      await httpJob('flow-ctl', 'before', 1500),
    ];
    await waitFor('the first jobs to arrive', () => receiver.group('before').arrivals.length === 2);
    const paused = await stack.call('POST', '/queues/flow-ctl/pause');
    expect(paused.body).toEqual({ queue: 'flow-ctl', paused: true, concurrency_limit: null });
    const held = [];
    for (let i = 0; i < 6; i++) held.push(await httpJob('flow-ctl', 'held', 600));
    // Running jobs finish while paused; the new ones stay queued and call no one.
    for (const j of running)
      expect((await stack.waitForJob(j.id, 'succeeded', 20_000)).status).toBe('succeeded');
    for (const j of held) expect((await stack.job(j.id)).status).toBe('queued');
    expect(receiver.group('held').arrivals).toHaveLength(0);
    const capped = await stack.call('PUT', '/queues/flow-ctl', { concurrency_limit: 2 });
    expect(capped.body).toEqual({ queue: 'flow-ctl', paused: true, concurrency_limit: 2 });
    const view = await stack.call('GET', '/queues/flow-ctl');
    expect(view.body).toMatchObject({ paused: true, concurrency_limit: 2, depth: 6, running: 0 });
    expect(receiver.group('held').arrivals).toHaveLength(0);
    const resumed = await stack.call('POST', '/queues/flow-ctl/resume');
    expect(resumed.body).toEqual({ queue: 'flow-ctl', paused: false, concurrency_limit: 2 });
    for (const j of held)
      expect((await stack.waitForJob(j.id, 'succeeded', 30_000)).status).toBe('succeeded');
    // Six slots on two nodes, and never more than the cap of 2 in flight at once; the cap was used.
    expect(receiver.group('held').maxInFlight).toBe(2);
    expect(receiver.group('held').arrivals).toHaveLength(6);
  }, 120_000);
});
