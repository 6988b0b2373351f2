// Submit-to-run latency seen from outside both systems: a job's only work is one GET to this
// receiver, whose URL carries the client's send time, so latency = arrival - send on one clock (the
// bench process's), with neither system's own timestamps involved.
import { createServer, type Server } from 'node:http';
import { sleep } from '../lib/report';

export interface Receiver {
  /** The URL a job calls: `system` keeps runs apart, `i` names the job, `t` is the send time. */
  url(system: string, i: number, sentAt: number): string;
  /** Latencies (ms) of the first call of each job of `system`, in job order. */
  latencies(system: string): number[];
  /** Waits until `n` distinct jobs of `system` have called; throws after `timeoutMs`. */
  waitFor(system: string, n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  // system -> job index -> latency of its first call (a retried job may call twice: the first counts)
  const seen = new Map<string, Map<number, number>>();
  const server: Server = createServer((req, res) => {
    const arrived = Date.now();
    const q = new URL(req.url ?? '/', 'http://receiver').searchParams;
    const system = q.get('s') ?? '';
    const calls = seen.get(system) ?? new Map<number, number>();
    seen.set(system, calls);
    const i = Number(q.get('i'));
    if (!calls.has(i)) calls.set(i, arrived - Number(q.get('t')));
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return {
    url: (system, i, sentAt) => `${base}?s=${system}&i=${i}&t=${sentAt}`,
    latencies: (system) =>
      [...(seen.get(system) ?? new Map<number, number>()).entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, ms]) => ms),
    async waitFor(system, n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ((seen.get(system)?.size ?? 0) < n) {
        if (Date.now() > deadline)
          throw new Error(`${seen.get(system)?.size ?? 0} of ${n} ${system} jobs called back`);
        await sleep(20);
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Calls `send(i)` for i = 0..n-1 at a steady `rate` per second, each at its own scheduled time
 * whether or not the previous one has been answered (an open loop: a slow answer must not thin out
 * the load and hide its own cost), one job a request. Resolves when every send has been answered.
 */
export async function paced(
  rate: number,
  n: number,
  send: (i: number) => Promise<void>,
): Promise<void> {
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(send(i));
  }
  await Promise.all(inFlight);
}
