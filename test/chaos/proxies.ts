/**
 * Fault injection on the wire, outside the node and the API, so neither carries test-only code.
 *
 * - `ApiProxy` sits between the worker nodes and the API (the nodes' API_URL). It forwards every call
 *   and records every result report with the API's answer, one by one or in batches (wire version 2). A `resultFault` can lose a report (answer
 *   200 without forwarding: the node forgets the lease exactly as if it had crashed after running) or
 *   send it twice. Its upstream is a function, so the API can be restarted on another port while the
 *   nodes keep their API_URL.
 * - `DispatchProxy` sits between the API and one node (the URL the node registers). It records every
 *   dispatch and can answer it 500, hang past the dispatch timeout (then deliver it late, so the node
 *   runs an attempt the scheduler already gave up on), or drop the connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type ResultFault = 'lose' | 'twice' | null;
export type DispatchFault = '500' | 'hang' | 'drop' | null;

export interface ReportRecord {
  job_id: string;
  worker_id: string;
  attempt: number;
  exit_code: number;
  /** When the node's request arrived at the proxy (ms since epoch). */
  at: number;
  /** The API's answer to each copy forwarded; empty when the report was lost on purpose. */
  statuses: number[];
  /** When the API's first answer came back. */
  answered_at?: number;
  fault: ResultFault;
}

export interface DispatchRecord {
  job_id: string;
  attempt: number;
  token: string;
  worker_id: string;
  at: number;
  fault: DispatchFault;
}

const HOP_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
]);

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (typeof v === 'string' && !HOP_HEADERS.has(k)) out[k] = v;
  return out;
}

async function relay(
  target: string,
  req: IncomingMessage,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(target + (req.url ?? '/'), {
    method: req.method,
    headers: forwardHeaders(req),
    body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function answer(res: ServerResponse, up: { status: number; text: string; headers: Headers }): void {
  const out: Record<string, string> = {
    'content-type': up.headers.get('content-type') ?? 'application/json',
  };
  const retry = up.headers.get('retry-after');
  if (retry) out['retry-after'] = retry;
  res.writeHead(up.status, out).end(up.text);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

const RESULT_PATH = /^\/jobs\/([^/?]+)\/result$/;
/** Wire version 2 (docs/protocol.md 2.5b): several results in one signed request. */
const BATCH_PATH = /^\/workers\/([^/?]+)\/results$/;

interface BatchItem {
  job_id: string;
  attempt: number;
  exit_code: number;
}
interface Verdict {
  verdict: string;
  code?: string;
}

/**
 * A batch of results: one record per result, each with the status POST /jobs/:id/result would have
 * answered: 200 when accepted, 409 when refused. That route does not look the node up, so a result
 * of a node no scheduler knows (a verdict or a whole batch `worker_unknown`: its leases were handed
 * back when it was reaped) is 409 there, as any attempt that no longer holds its job. The request is signed, so a
 * fault takes the whole batch (the one the first result draws): lost (answered as accepted without
 * forwarding) or forwarded twice.
 */
async function batchReport(
  proxy: ApiProxy,
  upstream: () => string,
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  workerPath: string,
): Promise<void> {
  const items = (JSON.parse(body) as { results: BatchItem[] }).results;
  const worker_id = decodeURIComponent(workerPath);
  const at = Date.now();
  const recs: ReportRecord[] = items.map((i) => ({
    job_id: i.job_id,
    worker_id,
    attempt: i.attempt,
    exit_code: i.exit_code,
    at,
    statuses: [],
    fault: null,
  }));
  const fault = recs.length > 0 ? proxy.resultFault(recs[0]) : null;
  for (const r of recs) r.fault = fault;
  proxy.reports.push(...recs);
  if (fault === 'lose') {
    const results = items.map((i) => ({
      job_id: i.job_id,
      verdict: 'accepted',
      status: 'running',
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
    return;
  }
  const record = (up: { status: number; text: string }) => {
    let answer: { results?: Verdict[]; error?: { code?: string } } = {};
    try {
      answer = JSON.parse(up.text) as typeof answer;
    } catch {
      // not JSON: every result gets the request's status
    }
    const unknown = up.status === 404 && answer.error?.code === 'worker_unknown';
    recs.forEach((r, i) => {
      const v = up.status === 200 ? answer.results?.[i] : undefined;
      r.statuses.push(unknown ? 409 : !v ? up.status : v.verdict === 'accepted' ? 200 : 409);
    });
  };
  const first = await relay(upstream(), req, body, 15_000);
  record(first);
  for (const r of recs) r.answered_at = Date.now();
  if (fault === 'twice') record(await relay(upstream(), req, body, 15_000));
  answer(res, first);
}

export interface ApiProxy {
  url: string;
  reports: ReportRecord[];
  /** Decides the fault for each result report; null forwards it once. */
  resultFault: (report: { job_id: string; worker_id: string; attempt: number }) => ResultFault;
  close(): Promise<void>;
}

export async function startApiProxy(upstream: () => string): Promise<ApiProxy> {
  const proxy: ApiProxy = { url: '', reports: [], resultFault: () => null, close: async () => {} };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const m = req.method === 'POST' ? RESULT_PATH.exec(req.url ?? '') : null;
    const batch = req.method === 'POST' ? BATCH_PATH.exec(req.url ?? '') : null;
    try {
      if (batch) return await batchReport(proxy, upstream, req, res, body, batch[1]);
      if (!m) return answer(res, await relay(upstream(), req, body, 15_000));
      const parsed = JSON.parse(body) as { worker_id: string; attempt: number; exit_code: number };
      const rec: ReportRecord = {
        job_id: decodeURIComponent(m[1]),
        worker_id: parsed.worker_id,
        attempt: parsed.attempt,
        exit_code: parsed.exit_code,
        at: Date.now(),
        statuses: [],
        fault: null,
      };
      rec.fault = proxy.resultFault(rec);
      proxy.reports.push(rec);
      if (rec.fault === 'lose') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"lost_by_proxy":true}');
        return;
      }
      const first = await relay(upstream(), req, body, 15_000);
      rec.statuses.push(first.status);
      rec.answered_at = Date.now();
      if (rec.fault === 'twice')
        rec.statuses.push((await relay(upstream(), req, body, 15_000)).status);
      answer(res, first);
    } catch {
      res.destroy(); // the API is down (restarting): look like it to the node, which retries
    }
  });
  proxy.url = await listen(server);
  proxy.close = () => close(server);
  return proxy;
}

export interface DispatchProxy {
  url: string;
  dispatches: DispatchRecord[];
  /** Decides the fault for each POST /run; null forwards it. */
  dispatchFault: () => DispatchFault;
  /** How long a hung dispatch is held before it is delivered late. */
  hangMs: number;
  close(): Promise<void>;
}

export async function startDispatchProxy(targetPort: number): Promise<DispatchProxy> {
  const target = `http://127.0.0.1:${targetPort}`;
  const proxy: DispatchProxy = {
    url: '',
    dispatches: [],
    dispatchFault: () => null,
    hangMs: 3_000,
    close: async () => {},
  };
  const late = new Set<NodeJS.Timeout>();
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const isRun = req.method === 'POST' && req.url === '/run';
    const fault = isRun ? proxy.dispatchFault() : null;
    if (isRun) {
      try {
        const d = JSON.parse(body) as {
          worker_id: string;
          jobs: Array<{ job_id: string; attempt: number; token: string }>;
        };
        for (const j of d.jobs)
          proxy.dispatches.push({
            job_id: j.job_id,
            attempt: j.attempt,
            token: j.token,
            worker_id: d.worker_id,
            at: Date.now(),
            fault,
          });
      } catch {
        // not ours to judge: the node refuses it
      }
    }
    if (fault === '500') {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"error":{"code":"chaos","message":"injected 500"}}');
      return;
    }
    if (fault === 'drop') {
      res.destroy();
      return;
    }
    if (fault === 'hang') {
      // The scheduler gives up first; the node still gets the dispatch, late, and runs a dead attempt.
      const t = setTimeout(() => {
        late.delete(t);
        relay(target, req, body, 10_000).catch(() => undefined);
        res.destroy();
      }, proxy.hangMs);
      late.add(t);
      return;
    }
    try {
      answer(res, await relay(target, req, body, 15_000));
    } catch {
      res.destroy(); // the node is gone: look like it
    }
  });
  proxy.url = await listen(server);
  proxy.close = async () => {
    for (const t of late) clearTimeout(t);
    await close(server);
  };
  return proxy;
}
