/**
 * Issue 12, items 2 and 3, with wrangler dev and a real worker node.
 *
 * Item 2: callback deliveries once shared the queue's Scheduler object's six outbound connections
 * with dispatches, so eight deliveries hanging on one receiver held the next dispatch for the
 * delivery timeout (9.7 s seen, ~45 ms expected). Deliveries now leave from a courier object per
 * receiver origin (durable-objects/courier.ts): a receiver that never answers delays only its own.
 *
 * Item 3: a schedule's callback_url never reached the jobs it made.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, waitFor, type NodeProcess, type Stack } from './harness';

let stack: Stack;
let node: NodeProcess;
let hanging: Server;
let hangingPort: number;
/** Requests the hanging receiver holds open: it never answers them. */
const held: ServerResponse[] = [];
let receiver: Server;
let receiverPort: number;
const received: { path: string; body: any }[] = [];

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number) {
  const server = createServer(handler);
  return new Promise<Server>((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

beforeAll(async () => {
  stack = await startStack();
  hangingPort = await freePort();
  hanging = await listen((req, res) => {
    req.resume();
    held.push(res);
  }, hangingPort);
  receiverPort = await freePort();
  receiver = await listen((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  }, receiverPort);
  node = await stack.startNode({ capacity: 16 });
});

afterAll(async () => {
  for (const res of held) res.destroy();
  hanging?.closeAllConnections();
  hanging?.close();
  receiver?.close();
  await stack?.stop();
});

describe('callbacks and dispatch', () => {
  it("a schedule's callback_url reaches its jobs, and their callback is delivered", async () => {
    const created = await stack.call('POST', '/schedules', {
      cron: '* * * * * *',
      job: {
        type: 'fib',
        payload: { n: 10 },
        callback_url: `http://127.0.0.1:${receiverPort}/scheduled`,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    try {
      const hit = await waitFor(
        'a callback from a scheduled job',
        async () => received.find((r) => r.path === '/scheduled'),
        30_000,
      );
      expect(hit.body).toMatchObject({ event: 'job.succeeded', job: { queue: 'default' } });
      const job = await stack.job(hit.body.job.id);
      expect(job.callback_url).toBe(`http://127.0.0.1:${receiverPort}/scheduled`);
      await stack.waitForJob(job.id, (j) => j.callback?.status === 'delivered', 15_000);
    } finally {
      await stack.call('DELETE', `/schedules/${created.body.schedule.id}`);
    }
  });

  it('eight callbacks hanging on one receiver do not hold up the next dispatch of the queue', async () => {
    // The node serves the default queue: the jobs with callbacks and the probe share its Scheduler.
    const queue = 'default';
    const url = `http://127.0.0.1:${hangingPort}/never`;
    for (let i = 0; i < 8; i++)
      await stack.submit({ queue, type: 'fib', payload: { n: 5 }, callback_url: url });
    // Six is the most one invocation may have waiting for headers: the receiver holds them all.
    await waitFor('six deliveries held by the hanging receiver', async () =>
      held.length >= 6 ? true : undefined,
    );

    const t0 = Date.now();
    const job = await stack.submit({ queue, type: 'fib', payload: { n: 5 } });
    await node.waitForLog('job_received', (l) => l.job_id === job.id, 20_000);
    const elapsed = Date.now() - t0;
    expect(elapsed, `dispatch reached the node after ${elapsed} ms`).toBeLessThan(1000);

    // A cancel travels on the dispatch side too: a long job is told to stop at once.
    const long = await stack.submit({ queue, type: 'sleep', payload: { ms: 60_000 } });
    await node.waitForLog('job_received', (l) => l.job_id === long.id, 5_000);
    const t1 = Date.now();
    const cancelled = await stack.call('POST', `/jobs/${long.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await waitFor(
      'the node told to stop the cancelled job',
      async () =>
        node.logs.find(
          (l) => l.job_id === long.id && ['job_cancelled', 'job_killed'].includes(String(l.event)),
        ),
      5_000,
    );
    expect(Date.now() - t1).toBeLessThan(1000);

    // The hanging receiver's own deliveries are still pending, not lost.
    const first = (await stack.call('GET', `/jobs?queue=${queue}&limit=50`)).body.jobs.find(
      (j: any) => j.callback_url === url,
    );
    expect(first.callback?.status).toBe('pending');
  });
});
