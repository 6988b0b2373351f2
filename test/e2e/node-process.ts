/**
 * Real worker node processes for tests: spawn `worker-node/src/main.ts` under tsx, read its JSON log
 * lines as they come, wait on them with deadlines, and signal it. Used by the node's own tests
 * (test/unit/worker-node) and by the e2e harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { signRequest } from '../../src/core/signature';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/protocol/dispatch';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = Record<string, unknown> & { event: string };

/** Polls `probe` until it returns something truthy; throws with `what` after the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A port nothing listens on right now (the OS picks it; a tiny race is accepted for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly id: string;
  readonly logs: LogLine[];
  readonly stderr: string[];
  /** Exit code, or 128+n for a signal; resolves once the process is gone. */
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  events(event: string): LogLine[];
  waitForLog(event: string, match?: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /**
   * `sig` to the node. Under npm the process we hold is npm's, not the node's, so it goes to the
   * group: a SIGSTOP meant to freeze the node (test/chaos node-pause) then freezes it.
   */
  signal(sig: NodeJS.Signals): void;
  /** `sig` to every process of its group, as Ctrl-C in a terminal or systemd's KillMode do. */
  signalGroup(sig: NodeJS.Signals): void;
  /** SIGKILL to the whole process group (no drain), and wait for it to be gone. */
  kill(): Promise<void>;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSTOP: 19,
};

export function startNodeProcess(opts: {
  port: number;
  env: Record<string, string>;
  id?: string;
  echo?: boolean;
  /** Start it as an operator does, `npm run worker`: a group of several processes, not one. */
  npm?: boolean;
  /** Run this program instead, from `cwd`: an installed `cloud-worker` (test/e2e/install.test.ts). */
  program?: { path: string; cwd: string };
}): NodeProcess {
  const id = opts.id ?? `test-node-${opts.port}`;
  const url = `http://127.0.0.1:${opts.port}`;
  const [command, args] = opts.program
    ? [opts.program.path, []]
    : opts.npm
      ? ['npm', ['run', 'worker']]
      : [process.execPath, ['--import', 'tsx', 'worker-node/src/main.ts']];
  const child = spawn(command, args, {
    cwd: opts.program?.cwd ?? REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      WORKER_ENDPOINT: url,
      WORKER_PORT: String(opts.port),
      WORKER_BIND: '127.0.0.1',
      WORKER_ID: id,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so kill() also takes any runner child with it
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let exitCode: number | null = null;
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (opts.echo) process.stdout.write(`[${id}] ${line}\n`);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ event: '_raw', line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (opts.echo) process.stderr.write(`[${id}] ${chunk}`);
  });
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, sig) => {
      exitCode = code ?? 128 + (SIGNALS[sig ?? ''] ?? 0);
      resolve(exitCode);
    });
  });
  const proc: NodeProcess = {
    child,
    port: opts.port,
    url,
    id,
    logs,
    stderr,
    exited,
    get exitCode() {
      return exitCode;
    },
    events: (event) => logs.filter((l) => l.event === event),
    waitForLog: (event, match = () => true, timeoutMs = 15_000) =>
      waitFor(
        `log ${event} from ${id}`,
        () => {
          const hit = logs.find((l) => l.event === event && match(l));
          if (!hit && exitCode !== null)
            throw new Error(`${id} exited ${exitCode}; stderr: ${stderr.join('').slice(-2000)}`);
          return hit;
        },
        timeoutMs,
      ),
    signal: (sig) => {
      if (exitCode === null && child.pid) process.kill(opts.npm ? -child.pid : child.pid, sig);
    },
    signalGroup: (sig) => {
      if (exitCode === null && child.pid) process.kill(-child.pid, sig);
    },
    kill: async () => {
      if (exitCode !== null || !child.pid) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
  return proc;
}

/** Signs `body` the way the scheduler does and POSTs it. `tamper` changes the body after signing. */
export async function signedPost(
  url: string,
  body: unknown,
  secret: string,
  opts: {
    timestampMs?: number;
    tamper?: (raw: string) => string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const ts = opts.timestampMs ?? Date.now();
  const signature = await signRequest(
    secret,
    { method: 'POST', path: new URL(url).pathname, body: raw },
    ts,
  );
  return rawPost(url, opts.tamper ? opts.tamper(raw) : raw, {
    [TIMESTAMP_HEADER]: String(ts),
    [SIGNATURE_HEADER]: signature,
    ...opts.headers,
  });
}

export async function rawPost(
  url: string,
  raw: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A job id in the API's format (`queue.ULID`), unique enough for tests. */
export function fakeJobId(queue = 'default'): string {
  let s = '01J';
  for (let i = 0; i < 23; i++) s += CROCKFORD[Math.floor(Math.random() * 32)];
  return `${queue}.${s}`;
}
