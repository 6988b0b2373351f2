/**
 * The real stack for an e2e test: local D1 migrations into a temporary --persist-to directory,
 * `wrangler dev` on a free port, and worker node processes. Everything is started in its own process
 * group and killed as a group in `stop()`, because wrangler leaves workerd children behind otherwise.
 *
 * Waiting is always on a condition with a deadline (`waitFor`, `waitForJob`), never a bare sleep.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, JobStatus } from '../../src/protocol/job';
import type { WorkerView } from '../../src/protocol/worker';
import { freePort, REPO_ROOT, startNodeProcess, waitFor, type NodeProcess } from './node-process';

export {
  fakeJobId,
  freePort,
  rawPost,
  signedPost,
  waitFor,
  type LogLine,
  type NodeProcess,
} from './node-process';

export const E2E_TOKEN = 'e2e-worker-token-0123456789';

/** API settings that make the failure paths observable in seconds rather than minutes. */
export const FAST_VARS: Record<string, string> = {
  WORKER_HEARTBEAT_TIMEOUT_SEC: '3',
  HEARTBEAT_INTERVAL_SEC: '1',
  BACKOFF_BASE_SEC: '1',
  BACKOFF_MAX_SEC: '4',
  ALLOW_PRIVATE_WORKER_URLS: 'true',
  RATE_LIMIT_JOBS_PER_MIN: '0',
};

const QUIET_ENV = { WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
const DEBUG = process.env.E2E_DEBUG === '1';

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface NodeOptions {
  id?: string;
  capacity?: number;
  env?: Record<string, string>;
  /** Wait until GET /workers lists it (default true). */
  waitListed?: boolean;
}

export interface Stack {
  readonly api: string;
  readonly token: string;
  /** wrangler dev's inspector port: a benchmark profiles workerd's CPU through it. */
  readonly inspector: number;
  readonly nodes: NodeProcess[];
  /** wrangler's own output, for diagnosing a failure. */
  readonly apiLog: string[];
  call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer<T>>;
  submit(body: Record<string, unknown>): Promise<Job>;
  job(id: string): Promise<Job>;
  waitForJob(
    id: string,
    until: JobStatus | JobStatus[] | ((j: Job) => boolean),
    timeoutMs?: number,
  ): Promise<Job>;
  workers(): Promise<WorkerView[]>;
  startNode(opts?: NodeOptions): Promise<NodeProcess>;
  stop(): Promise<void>;
}

export interface StackOptions {
  vars?: Record<string, string>;
  token?: string;
  /**
   * Use this --persist-to directory instead of a fresh temporary one, and leave it in place on
   * `stop()`: the caller owns it. Starting a second stack on the same directory after stopping the
   * first is how a test crashes and restarts the API with its state (D1 and Durable Object storage).
   */
  persistTo?: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const token = opts.token ?? E2E_TOKEN;
  const dir = opts.persistTo ?? mkdtempSync(join(tmpdir(), 'cloud-e2e-'));
  // Asynchronous: the chaos suite restarts the API mid-run, and a synchronous migration stopped its
  // process's event loop for seconds, so its proxies and the flow receiver stamped what arrived
  // meanwhile all at once, with the time the loop came back.
  const migrate = await run(
    'npx',
    ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir],
    { cwd: REPO_ROOT, env: { ...process.env, ...QUIET_ENV }, timeout: 120_000 },
  );
  if (migrate.status !== 0)
    throw new Error(`migrations failed (${migrate.status}):\n${migrate.stdout}\n${migrate.stderr}`);

  const port = await freePort();
  const inspector = await freePort();
  const vars = { ...FAST_VARS, ...opts.vars, WORKER_TOKEN: token };
  const args = [
    'wrangler',
    'dev',
    '--port',
    String(port),
    '--ip',
    '127.0.0.1',
    '--inspector-port',
    String(inspector),
    '--persist-to',
    dir,
    '--show-interactive-dev-session=false',
    // GET /__scheduled fires the cron: tests (and the chaos suite) run it at will. (Not
    // /cdn-cgi/handler/scheduled, which wrangler gives to its asset router once [assets] is set.)
    '--test-scheduled',
  ];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const apiLog: string[] = [];
  const wrangler: ChildProcess = spawn('npx', args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...QUIET_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const collect = (chunk: Buffer) => {
    apiLog.push(chunk.toString());
    if (DEBUG) process.stderr.write(`[api] ${chunk}`);
  };
  wrangler.stdout!.on('data', collect);
  wrangler.stderr!.on('data', collect);
  let wranglerExit: number | null = null;
  wrangler.on('exit', (code) => (wranglerExit = code ?? -1));

  const api = `http://127.0.0.1:${port}`;
  const nodes: NodeProcess[] = [];

  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer<T>> => {
    const res = await fetch(api + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };

  const stack: Stack = {
    api,
    token,
    inspector,
    nodes,
    apiLog,
    call,
    async submit(body) {
      const r = await call<{ job: Job }>('POST', '/jobs', body);
      if (r.status !== 201)
        throw new Error(`POST /jobs answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.job;
    },
    async job(id) {
      const r = await call<{ job: Job }>('GET', `/jobs/${id}`);
      if (r.status !== 200)
        throw new Error(`GET /jobs/${id} answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.job;
    },
    async waitForJob(id, until, timeoutMs = 30_000) {
      const test =
        typeof until === 'function'
          ? until
          : (j: Job) => (Array.isArray(until) ? until : [until]).includes(j.status);
      let last: Job | undefined;
      try {
        return await waitFor(
          `job ${id} to reach ${typeof until === 'function' ? 'the condition' : String(until)}`,
          async () => {
            last = await stack.job(id);
            return test(last) ? last : undefined;
          },
          timeoutMs,
          200,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`, {
          cause: err,
        });
      }
    },
    async workers() {
      const r = await call<{ workers: WorkerView[] }>('GET', '/workers');
      if (r.status !== 200) throw new Error(`GET /workers answered ${r.status}`);
      return r.body.workers;
    },
    async startNode(o = {}) {
      const nodePort = await freePort();
      const node = startNodeProcess({
        port: nodePort,
        id: o.id,
        echo: DEBUG,
        env: {
          API_URL: api,
          WORKER_TOKEN: token,
          WORKER_CAPACITY: String(o.capacity ?? 1),
          HEARTBEAT_INTERVAL_SEC: '1',
          DRAIN_TIMEOUT_SEC: '30',
          ...o.env,
        },
      });
      nodes.push(node);
      if (o.waitListed !== false) {
        await node.waitForLog('worker_registered', undefined, 60_000);
        await waitFor(
          `${node.id} in GET /workers`,
          async () => (await stack.workers()).some((w) => w.id === node.id),
          15_000,
        );
      }
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      killGroup(wrangler);
      await waitFor('wrangler to exit', () => wranglerExit !== null, 10_000).catch(() => undefined);
      if (!opts.persistTo) rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitFor(
      'wrangler dev to answer GET /health',
      async () => {
        if (wranglerExit !== null)
          throw new Error(`wrangler exited ${wranglerExit}:\n${apiLog.join('').slice(-3000)}`);
        return (await fetch(`${api}/health`)).status === 200;
      },
      120_000,
      250,
    );
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

function killGroup(child: ChildProcess): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Dispatch order as the node logged it: job ids in job_started order. */
export function startedOrder(node: NodeProcess, ids?: Set<string>): string[] {
  return node
    .events('job_started')
    .map((l) => String(l.job_id))
    .filter((id) => !ids || ids.has(id));
}

export interface RecordingProxy {
  url: string;
  /** Raw bodies of the requests that went through, in order. */
  requests: Array<{ method: string; path: string; body: string }>;
  close(): Promise<void>;
}

/**
 * A pass-through in front of a real node, registered as the node's URL, so a test can see exactly
 * what the scheduler sent (the attempt and token of a dispatch) without the node logging secrets.
 */
export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const { createServer } = await import('node:http');
  const requests: RecordingProxy['requests'] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', body });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k))
        headers[k] = v;
    try {
      const upstream = await fetch(`http://127.0.0.1:${targetPort}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === 'GET' ? undefined : body,
      });
      const text = await upstream.text();
      const out: Record<string, string> = {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      };
      const retry = upstream.headers.get('retry-after');
      if (retry) out['retry-after'] = retry;
      res.writeHead(upstream.status, out).end(text);
    } catch {
      res.destroy(); // the node is gone: look like it to the scheduler
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface BadNode {
  id: string;
  url: string;
  /** Each POST /run that arrived: when (ms since epoch) and for which jobs. */
  dispatches: Array<{ at: number; jobIds: string[] }>;
  /** Arrival times of the dispatches that carried `jobId`. */
  dispatchesOf(jobId: string): number[];
  stop(): Promise<void>;
}

/**
 * A node that registers and heartbeats through the real API like any other, but answers every
 * dispatch with `status` (500 by default): the scheduler must treat that as a failed dispatch.
 */
export async function startBadNode(
  stack: Stack,
  opts: { id?: string; status?: number } = {},
): Promise<BadNode> {
  const { createServer } = await import('node:http');
  const dispatches: BadNode['dispatches'] = [];
  const server = createServer(async (req, res) => {
    const at = Date.now();
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url === '/run') {
      let jobIds: string[] = [];
      try {
        jobIds = (JSON.parse(body) as { jobs: Array<{ job_id: string }> }).jobs.map(
          (j) => j.job_id,
        );
      } catch {
        // recorded with no ids
      }
      dispatches.push({ at, jobIds });
    }
    res
      .writeHead(opts.status ?? 500, { 'content-type': 'application/json' })
      .end(
        JSON.stringify({ error: { code: 'broken', message: 'this node is broken on purpose' } }),
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const id = opts.id ?? `bad-node-${(server.address() as { port: number }).port}`;
  const auth = { authorization: `Bearer ${stack.token}` };
  const register = async () => {
    const r = await stack.call(
      'POST',
      '/workers/register',
      { id, url, capacity: 1, executors: ['native', 'wasm'] },
      auth,
    );
    if (r.status !== 201)
      throw new Error(`bad node registration answered ${r.status}: ${JSON.stringify(r.body)}`);
  };
  await register();
  let stopped = false;
  const beat = async () => {
    while (!stopped) {
      const r = await stack
        .call('POST', `/workers/${id}/heartbeat`, { running: [], draining: false }, auth)
        .catch(() => null);
      if (r?.status === 404 && !stopped) await register().catch(() => undefined);
      await new Promise((res) => setTimeout(res, 700));
    }
  };
  const loop = beat();
  return {
    id,
    url,
    dispatches,
    dispatchesOf: (jobId) => dispatches.filter((d) => d.jobIds.includes(jobId)).map((d) => d.at),
    stop: async () => {
      stopped = true;
      await loop;
      await stack.call('DELETE', `/workers/${id}`, undefined, auth).catch(() => undefined);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A command's exit status and output, without blocking the event loop while it runs. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeout: number },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { ...opts, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) =>
        resolve({
          status: err ? (typeof err.code === 'number' ? err.code : null) : 0,
          stdout,
          stderr,
        }),
    );
  });
}
