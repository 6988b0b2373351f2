/**
 * The receiver the flow-control proof measures with (issue 17, "Limits that can be checked"). Each
 * job of the flow phase and of bench/flow is an `http` job whose only work is one GET to this
 * server; the server holds the request for the time the URL names, so a job's run is the interval
 * from its arrival here to its answer (or to its connection closing, when a node is killed
 * mid-run). Starts and concurrency are then read on one clock, this process's, from outside the
 * API, the Scheduler object and the nodes: none of their own timestamps is involved.
 *
 * What the receiver sees can only be later than what the engine decided (a dispatch travels before
 * it arrives) and ends no later than the engine frees the slot (the answer travels back as a result
 * report first): running counts here are never above the engine's own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call of one job: a first run, or a re-run of the same job (at-least-once delivery). */
export interface Arrival {
  token: string;
  /** When the request arrived (ms since epoch, this process's clock). */
  at: number;
  /** When it was answered, or its connection closed; null while it is held. */
  end: number | null;
  /** The connection closed before the answer: the node died or gave up mid-run. */
  cut: boolean;
}

export interface FlowReceiver {
  /** The URL a job calls: `token` names the submission, `holdMs` is how long its run lasts. */
  url(token: string, holdMs: number): string;
  /** Every call so far, in arrival order (copies). */
  arrivals(): Arrival[];
  /** Calls being held right now. */
  running(): number;
  /** Resolves once `n` distinct tokens have called, or throws after `timeoutMs`. */
  waitForTokens(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFlowReceiver(): Promise<FlowReceiver> {
  const calls: Arrival[] = [];
  const tokens = new Set<string>();
  let held = 0;
  const server: Server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://receiver').searchParams;
    const call: Arrival = { token: q.get('t') ?? '', at: Date.now(), end: null, cut: false };
    calls.push(call);
    tokens.add(call.token);
    held++;
    const finish = (cut: boolean) => {
      if (call.end !== null) return;
      call.end = Date.now();
      call.cut = cut;
      held--;
    };
    const timer = setTimeout(
      () => {
        finish(false);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      },
      Number(q.get('h') ?? 0),
    );
    res.on('close', () => {
      clearTimeout(timer);
      finish(true);
    });
    req.resume();
  });
  // Node's default keep-alive would let a killed node's socket linger; each job opens its own.
  server.keepAliveTimeout = 1;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: (token, holdMs) =>
      `${base}?t=${encodeURIComponent(token)}&h=${Math.max(0, Math.round(holdMs))}`,
    arrivals: () => calls.map((c) => ({ ...c })),
    running: () => held,
    async waitForTokens(n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (tokens.size < n) {
        if (Date.now() > deadline)
          throw new Error(`${tokens.size} of ${n} jobs called the receiver`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
