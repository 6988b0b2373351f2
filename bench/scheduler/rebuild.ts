// The restart half of bench/scheduler, the real thing: N jobs queued in one queue of wrangler dev
// (no worker nodes, so nothing is dispatched), wrangler dev killed (SIGKILL to its process group: a
// crash, not a clean shutdown) and started again on the same --persist-to state; then the first
// request to that queue's Durable Object, which runs its constructor's `load()` (SELECT every queued
// job from the object's SQLite, push each into the ReadyQueue) before it can answer.
//
// The harness (test/e2e/harness.ts) owns and deletes its state directory, so the restart is done
// here: find the wrangler process it started (by its --port), kill it, copy its state, and start
// `wrangler dev` on the copy with the harness's own settings (FAST_VARS, E2E_TOKEN).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { E2E_TOKEN, FAST_VARS, freePort, waitFor } from '../../test/e2e/harness';
import { REPO_ROOT } from '../../test/e2e/node-process';
import { call, startCloud, submitBatches } from '../lib/cloud';
import { round } from '../lib/report';

const QUEUE = 'rebuild';

interface Proc {
  pid: number;
  pgid: number;
  args: string[];
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      out.push({ pid: Number(d), pgid, args });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function timed(api: string, path: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(api + path);
  await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  return performance.now() - t0;
}

export interface RebuildResult {
  queued: number;
  submit_sec: number;
  first_request_ms: number;
  warm_request_ms: number;
  empty_object_first_ms: number;
  empty_object_warm_ms: number;
  /** first - warm - (empty first - empty warm): the constructor's load() alone. */
  rebuild_ms: number;
  depth_after_restart: number;
}

export async function rebuildBench(n: number, log: (s: string) => void): Promise<RebuildResult> {
  const stack = await startCloud({ nodes: 0, capacity: 1, queues: [QUEUE] });
  const copy = mkdtempSync(join(tmpdir(), 'cloud-bench-rebuild-'));
  let restarted: { pid: number } | undefined;
  try {
    const t0 = Date.now();
    const jobs = Array.from({ length: n }, (_, i) => ({
      type: 'echo',
      payload: { i },
      queue: QUEUE,
    }));
    for (let i = 0; i < n; i += 10_000) {
      await submitBatches(stack, jobs.slice(i, i + 10_000), 4);
      log(`  queued ${Math.min(n, i + 10_000)} / ${n} (${round((Date.now() - t0) / 1000, 1)} s)`);
    }
    const submitSec = (Date.now() - t0) / 1000;
    const before = (await call(stack, 'GET', `/queues/${QUEUE}?limit=1`)).body as { depth: number };
    if (before.depth !== n) throw new Error(`queue depth ${before.depth}, expected ${n}`);

    const port = new URL(stack.api).port;
    const wrangler = processes().find(
      (p) =>
        p.args.includes('dev') &&
        p.args.some((a) => a.includes('wrangler')) &&
        p.args.includes(port) &&
        p.args.includes('--persist-to'),
    );
    if (!wrangler) throw new Error('could not find the wrangler dev process of the stack');
    const state = wrangler.args[wrangler.args.indexOf('--persist-to') + 1];
    process.kill(-wrangler.pgid, 'SIGKILL');
    await waitFor(
      'wrangler dev to exit',
      () => !processes().some((p) => p.pgid === wrangler.pgid),
      15_000,
    );
    cpSync(state, copy, { recursive: true });
    await stack.stop();

    // The restart: same state, same settings as the harness, a new port.
    const newPort = await freePort();
    const inspector = await freePort();
    const args = [
      'wrangler',
      'dev',
      '--port',
      String(newPort),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(inspector),
      '--persist-to',
      copy,
      '--show-interactive-dev-session=false',
    ];
    for (const [k, v] of Object.entries({ ...FAST_VARS, WORKER_TOKEN: E2E_TOKEN }))
      args.push('--var', `${k}:${v}`);
    const child = spawn('npx', args, {
      cwd: REPO_ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      stdio: 'ignore',
      detached: true,
    });
    restarted = { pid: child.pid! };
    const api = `http://127.0.0.1:${newPort}`;
    await waitFor(
      'restarted wrangler dev to answer GET /health',
      async () => (await fetch(`${api}/health`)).status === 200,
      120_000,
      250,
    );
    // The Worker is warm now; an empty queue's object shows the fixed cost of a cold Durable Object.
    const emptyFirst = await timed(api, '/queues/empty-after-restart?limit=1');
    const emptyWarm = await timed(api, '/queues/empty-after-restart?limit=1');
    const first = await timed(api, `/queues/${QUEUE}?limit=1`);
    const warm = await timed(api, `/queues/${QUEUE}?limit=1`);
    const after = (await (await fetch(`${api}/queues/${QUEUE}?limit=1`)).json()) as {
      depth: number;
    };
    return {
      queued: n,
      submit_sec: round(submitSec, 1),
      first_request_ms: round(first, 1),
      warm_request_ms: round(warm, 1),
      empty_object_first_ms: round(emptyFirst, 1),
      empty_object_warm_ms: round(emptyWarm, 1),
      rebuild_ms: round(first - warm - Math.max(0, emptyFirst - emptyWarm), 1),
      depth_after_restart: after.depth,
    };
  } finally {
    await stack.stop().catch(() => undefined);
    if (restarted) {
      try {
        process.kill(-restarted.pid, 'SIGKILL');
      } catch {
        // gone
      }
      await waitFor(
        'restarted wrangler to exit',
        () => !processes().some((p) => p.pgid === restarted!.pid),
        15_000,
      ).catch(() => undefined);
    }
    rmSync(copy, { recursive: true, force: true });
  }
}
