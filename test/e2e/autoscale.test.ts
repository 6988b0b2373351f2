/**
 * `cloud autoscale` against the real stack: wrangler dev with a low QUEUE_THRESHOLD_HIGH, the real
 * CLI as a child process, real worker node processes (pull mode) started and drained by it, the
 * real runner. A burst takes it from MIN_WORKERS (1) to MAX_WORKERS (3), every job succeeds, and
 * once the queue is empty it drains back to 1; a node killed with SIGKILL is started again; SIGTERM
 * to the autoscaler drains its nodes and it exits 0 after them. Then the same with the advice taken
 * from the signed scale webhook (`--listen`) instead of polls, and with push nodes on their own ports.
 *
 * What is asserted is what an operator sees: GET /workers (admin token) and the autoscaler's JSON
 * log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerView } from '../../src/protocol/worker';
import { REPO_ROOT } from './node-process';
import { freePort, startStack, waitFor, type LogLine, type Stack } from './harness';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
const PREFIX = 'e2e-auto';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Each node's own log lines, for diagnosing a failure (kept with E2E_DEBUG=1). */
const NODE_LOGS = mkdtempSync(join(tmpdir(), 'cloud-autoscale-'));

/** The scale webhook's key, and the port a `--listen` autoscaler takes it on in the last case. */
const WEBHOOK_KEY = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
let hookPort: number;

let stack: Stack;
let scaler: Autoscaler;
/** The autoscalers of the later cases, killed with their nodes if a case fails. */
const others: Autoscaler[] = [];

/** A failure's message with what the autoscaler logged, which is what explains it. */
const explained = (a: Autoscaler) => (err: Error) => {
  throw new Error(
    `${err.message}\nthe autoscaler logged:\n${a.lines.map((l) => JSON.stringify(l)).join('\n')}` +
      `\nthe API logged:\n${stack.apiLog
        .join('')
        .split('\n')
        .filter((l) => /scale_|"hold"/.test(l))
        .slice(-30)
        .join('\n')}`,
  );
};

interface Autoscaler {
  child: ChildProcess;
  lines: LogLine[];
  stderr: string[];
  exited: Promise<number | null>;
  events(event: string): LogLine[];
}

function startAutoscaler(env: Record<string, string>, args: string[]): Autoscaler {
  const child = spawn(process.execPath, ['bin/cloud.mjs', 'autoscale', '--plain', ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      CLOUD_API_URL: stack.api,
      CLOUD_ADMIN_TOKEN: ADMIN_TOKEN,
      WORKER_TOKEN: stack.token,
      HEARTBEAT_INTERVAL_SEC: '1',
      LEASE_WAIT_SEC: '5',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (process.env.E2E_DEBUG === '1') process.stdout.write(`[autoscale] ${line}\n`);
      lines.push(JSON.parse(line) as LogLine);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, lines, stderr, exited, events: (e) => lines.filter((l) => l.event === e) };
}

/** Every pid the autoscaler logged for a node, to kill whatever is left if a test fails. */
const nodePids = (a: Autoscaler) =>
  a.lines.filter((l) => typeof l.pid === 'number').map((l) => l.pid as number);

async function ourWorkers(): Promise<WorkerView[]> {
  const r = await stack.call<{ workers: WorkerView[] }>('GET', '/workers', undefined, admin);
  if (r.status !== 200) throw new Error(`GET /workers answered ${r.status}`);
  return r.body.workers.filter((w) => w.id.startsWith(PREFIX));
}
const ids = (ws: WorkerView[]) => ws.map((w) => w.id).sort();
const ourHookWorkers = async () => {
  const r = await stack.call<{ workers: WorkerView[] }>('GET', '/workers', undefined, admin);
  return r.body.workers.filter((w) => w.id.startsWith('e2e-hook'));
};

beforeAll(async () => {
  hookPort = await freePort();
  stack = await startStack({
    vars: {
      ADMIN_TOKEN,
      // Until the last case nothing listens there: those announcements fail, as they may.
      SCALE_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/`,
      SCALE_WEBHOOK_SECRET: WEBHOOK_KEY,
      QUEUE_THRESHOLD_HIGH: '2',
      QUEUE_THRESHOLD_LOW: '1',
      MIN_WORKERS: '1',
      MAX_WORKERS: '3',
      SCALE_DOWN_STABLE_SEC: '2',
    },
  });
  scaler = startAutoscaler({ MIN_WORKERS: '1', MAX_WORKERS: '3', SCALE_DOWN_STABLE_SEC: '2' }, [
    '--interval',
    '1',
    '--cap',
    '3',
    '--id-prefix',
    PREFIX,
    '--node-logs',
    NODE_LOGS,
    // An idle pull node's drain now and then never ends (seen outside the autoscaler too: its last
    // line is the draining heartbeat). The autoscaler forces such a drain; short here for the test.
    '--drain-timeout',
    '10',
  ]);
});

afterAll(async () => {
  for (const a of [scaler, ...others]) {
    if (!a) continue;
    for (const pid of [a.child.pid!, ...nodePids(a)]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await stack?.stop();
  if (process.env.E2E_DEBUG === '1') process.stdout.write(`node logs: ${NODE_LOGS}\n`);
  else rmSync(NODE_LOGS, { recursive: true, force: true });
});

describe('cloud autoscale', () => {
  it('starts a second and third node for a burst, every job succeeds, and it drains back to MIN_WORKERS', async () => {
    await waitFor('the first node', async () => ids(await ourWorkers()).length === 1, 60_000, 250);
    expect(ids(await ourWorkers())).toEqual([`${PREFIX}-1`]);

    const jobs = [];
    for (let i = 0; i < 30; i++)
      jobs.push(await stack.submit({ type: 'sleep', payload: { ms: 1_000 } }));

    let most = 0;
    await waitFor(
      'three nodes of ours in GET /workers',
      async () => {
        most = Math.max(most, (await ourWorkers()).length);
        return most === 3;
      },
      60_000,
      250,
    ).catch(explained(scaler));
    expect(ids(await ourWorkers())).toEqual([`${PREFIX}-1`, `${PREFIX}-2`, `${PREFIX}-3`]);

    const done = await Promise.all(
      jobs.map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'], 90_000)),
    );
    expect(done.map((j) => j.status)).toEqual(Array(30).fill('succeeded'));
    expect(new Set(done.map((j) => j.worker_id)).size).toBeGreaterThan(1);

    await waitFor(
      'back to one node',
      async () => (await ourWorkers()).length === 1,
      60_000,
      250,
    ).catch(explained(scaler));
    expect(ids(await ourWorkers())).toEqual([`${PREFIX}-1`]);
    await waitFor(
      'the drained nodes to exit',
      () => scaler.events('node_exited').length === 2,
      30_000,
    ).catch(explained(scaler));

    const ups = scaler.events('scale_up').map((l) => l.node);
    expect(ups).toEqual([`${PREFIX}-1`, `${PREFIX}-2`, `${PREFIX}-3`]);
    const downs = scaler.events('scale_down');
    expect(downs.map((l) => l.node)).toEqual([`${PREFIX}-3`, `${PREFIX}-2`]);
    // Each one a separate step, each after the advice had stayed low for SCALE_DOWN_STABLE_SEC.
    expect(Date.parse(downs[1].ts as string) - Date.parse(downs[0].ts as string)).toBeGreaterThan(
      2_000,
    );
    expect(scaler.events('node_crashed')).toEqual([]);
    expect(scaler.events('restart')).toEqual([]);
  });

  it('a node killed with SIGKILL is restarted under its id and runs jobs again', async () => {
    const started = [...scaler.events('scale_up'), ...scaler.events('restart')].filter(
      (l) => l.node === `${PREFIX}-1`,
    );
    const pid = started[started.length - 1].pid as number;
    process.kill(pid, 'SIGKILL');

    const crash = await waitFor('node_crashed', () => scaler.events('node_crashed')[0], 15_000);
    expect(crash).toMatchObject({ node: `${PREFIX}-1`, signal: 'SIGKILL' });
    const restart = await waitFor('restart', () => scaler.events('restart')[0], 15_000);
    expect(restart).toMatchObject({ node: `${PREFIX}-1`, crashes: 1 });
    expect(restart.pid).not.toBe(pid);
    await waitFor(
      'the restarted node to register',
      () =>
        scaler
          .events('node_registered')
          .some((l) => l.node === `${PREFIX}-1` && l.pid === restart.pid),
      60_000,
    );

    const job = await stack.submit({ type: 'echo', payload: 'after the crash' });
    expect(await stack.waitForJob(job.id, ['succeeded', 'failed'], 30_000)).toMatchObject({
      status: 'succeeded',
      worker_id: `${PREFIX}-1`,
    });
    expect(ids(await ourWorkers())).toEqual([`${PREFIX}-1`]);
  });

  it('SIGTERM drains its nodes, and it exits 0 once they have', async () => {
    process.kill(scaler.child.pid!, 'SIGTERM');
    expect(await scaler.exited).toBe(0);
    expect(scaler.events('autoscale_stopping')).toHaveLength(1);
    expect(scaler.events('autoscale_stopped')).toEqual([expect.objectContaining({ exit_code: 0 })]);
    // The node deregistered on its way out rather than waiting to be reaped.
    expect(await ourWorkers()).toEqual([]);
  });

  it('--listen: follows the signed scale webhook, with no polling of its own', async () => {
    const a = startAutoscaler(
      { MIN_WORKERS: '1', MAX_WORKERS: '2', SCALE_WEBHOOK_SECRET: WEBHOOK_KEY },
      [
        '--listen',
        `127.0.0.1:${hookPort}`,
        '--cap',
        '2',
        '--id-prefix',
        'e2e-hook',
        '--scale-down-stable',
        '2',
        '--drain-timeout',
        '10',
        // A queue of its own: the default queue's depth fell steeply in the first case, and for the
        // next minute the API's trend would call any new burst there "draining" and advise hold.
        '--queues',
        'hooked',
      ],
    );
    others.push(a);
    // The API re-evaluates its advice when observed: here by these reads, as by a Prometheus scrape.
    let observing = true;
    const observer = (async () => {
      while (observing) {
        await stack.call('GET', '/stats', undefined, admin).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      await waitFor('the first node', () => a.events('node_registered').length === 1, 60_000);
      const jobs = [];
      for (let i = 0; i < 12; i++)
        jobs.push(await stack.submit({ type: 'sleep', payload: { ms: 1_000 }, queue: 'hooked' }));
      const up = await waitFor(
        'a second node',
        () => a.events('scale_up').find((l) => l.node === 'e2e-hook-2'),
        60_000,
      ).catch(explained(a));
      // It acted on an event of the webhook: it never called the API itself.
      const advice = a.events('advice');
      expect(advice.length).toBeGreaterThan(0);
      expect(advice.every((l) => l.source === 'webhook')).toBe(true);
      expect(advice.some((l) => l.action === 'scale_up')).toBe(true);
      expect(up.reason).toMatch(/QUEUE_THRESHOLD_HIGH/);
      await waitFor(
        'two nodes in GET /workers',
        async () => (await ourHookWorkers()).length === 2,
        60_000,
        250,
      );
      const done = await Promise.all(
        jobs.map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'], 90_000)),
      );
      expect(done.map((j) => j.status)).toEqual(Array(12).fill('succeeded'));
    } finally {
      observing = false;
      await observer;
    }
    process.kill(a.child.pid!, 'SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await ourHookWorkers()).toEqual([]);
  });

  it('--mode push: each node listens on its own port, registered at that URL, and runs jobs', async () => {
    const base = await freePort();
    const a = startAutoscaler({ MIN_WORKERS: '2', MAX_WORKERS: '2' }, [
      '--mode',
      'push',
      '--port-base',
      String(base),
      '--endpoint-host',
      '127.0.0.1',
      '--queues',
      'pushq',
      '--interval',
      '1',
      '--cap',
      '2',
      '--id-prefix',
      'e2e-push',
    ]);
    others.push(a);
    const pushWorkers = async () => {
      const r = await stack.call<{ workers: WorkerView[] }>('GET', '/workers', undefined, admin);
      return r.body.workers
        .filter((w) => w.id.startsWith('e2e-push'))
        .sort((x, y) => (x.id < y.id ? -1 : 1));
    };
    await waitFor(
      'two push nodes',
      async () => (await pushWorkers()).length === 2,
      60_000,
      250,
    ).catch(explained(a));
    expect((await pushWorkers()).map((w) => [w.id, w.mode, w.url])).toEqual([
      ['e2e-push-1', 'push', `http://127.0.0.1:${base}`],
      ['e2e-push-2', 'push', `http://127.0.0.1:${base + 1}`],
    ]);
    const jobs = [];
    for (let i = 0; i < 4; i++)
      jobs.push(await stack.submit({ type: 'echo', payload: i, queue: 'pushq' }));
    const done = await Promise.all(
      jobs.map((j) => stack.waitForJob(j.id, ['succeeded', 'failed'])),
    );
    expect(done.map((j) => j.status)).toEqual(Array(4).fill('succeeded'));
    process.kill(a.child.pid!, 'SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await pushWorkers()).toEqual([]);
  });
});
