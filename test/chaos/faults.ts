/**
 * The faults, one object each. `arm` turns on the wire faults (proxies) for the phase; `run` is the
 * nemesis loop for process faults, started with the load and stopped (`signal`) when the last job is
 * submitted: it must leave every process it touched running again before it returns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../e2e/node-process';
import { parseApiLog } from './checker';
import type { ChaosCluster, ChaosNode } from './cluster';
import { pause } from './pause';
import { groupSignals } from './phase-group-signals';
import { callbackReceivers } from './callback-receivers';
import { cronStorm, d1Flaky } from './seam-faults';
import { flowLimits } from './phase-flow-limits';

export interface PhaseContext {
  cluster: ChaosCluster;
  nodes: ChaosNode[];
  random: () => number;
  /** DISPATCH_TIMEOUT_MS the API runs with. */
  dispatchTimeoutMs: number;
  heartbeatTimeoutSec: number;
  /** Late result reports of reaped attempts, replayed after a pause, with the API's answer. */
  lateReports: Array<{ job_id: string; attempt: number; status: number }>;
  note(line: string): void;
}

export interface Fault {
  name: string;
  /** Why the fault cannot run here; it is listed, not run. */
  skip?: () => string | undefined;
  arm?(ctx: PhaseContext): void;
  run?(ctx: PhaseContext, signal: AbortSignal): Promise<void>;
  /** Fields every job of the phase carries besides the suite's own (a callback_url). */
  jobFields?(): Record<string, unknown>;
  /** Submits the phase's own jobs (`n` slots at `rate` a second) instead of the suite's sleeps. */
  submit?(
    ctx: PhaseContext,
    n: number,
    rate: number,
  ): Promise<{ ids: string[]; indeterminate: number; errors: string[] }>;
  /** The phase's own checks, once every job is terminal: violations, and counts for the log. */
  verdict?(): { violations: string[]; detail?: string };
}

const pick = <T>(items: T[], random: () => number): T => items[Math.floor(random() * items.length)];

export const nodeKill: Fault = {
  name: 'node-kill',
  async run(ctx, signal) {
    // Each crash-and-restart runs on its own, so a slow restart (tsx start-up) does not hold back the
    // next kill; a node already down is left alone.
    const down = new Map<ChaosNode, Promise<void>>();
    while (!signal.aborted) {
      await pause(300 + ctx.random() * 1200, signal);
      if (signal.aborted) break;
      const node = pick(
        ctx.nodes.filter((n) => !down.has(n)),
        ctx.random,
      );
      if (!node) continue;
      ctx.note(`SIGKILL ${node.id}`);
      const back = ctx.random() * 1200;
      down.set(
        node,
        (async () => {
          await ctx.cluster.crashNode(node, false);
          await pause(300 + back);
          await ctx.cluster.crashNode(node, true);
        })().finally(() => down.delete(node)),
      );
    }
    await Promise.all(down.values());
  },
};

export const apiRestart: Fault = {
  name: 'api-restart',
  async run(ctx, signal) {
    // At most two crashes a phase, with a few seconds of service between them: an API that is down
    // most of the time only tests the submitter's patience.
    for (let i = 0; i < 2; i++) {
      await pause((i === 0 ? 800 : 3000) + ctx.random() * 2500, signal);
      if (signal.aborted) return;
      ctx.note('SIGKILL the API (wrangler + workerd) and restart it on the same --persist-to');
      await ctx.cluster.restartApi();
    }
  },
};

const dispatchFault = (name: string, kind: '500' | 'hang' | 'drop', rate: number): Fault => ({
  name,
  arm(ctx) {
    // The first dispatch always gets the fault, so even a short run proves the fault was survived.
    const hit = firstThenRate(rate, ctx.random);
    for (const n of ctx.nodes) {
      n.proxy.hangMs = ctx.dispatchTimeoutMs + 1000;
      n.proxy.dispatchFault = () => (hit() ? kind : null);
    }
  },
});

/** True the first time, then with probability `rate`. */
function firstThenRate(rate: number, random: () => number): () => boolean {
  let first = true;
  return () => {
    if (first) {
      first = false;
      return true;
    }
    return random() < rate;
  };
}

export const dispatch500 = dispatchFault('dispatch-500', '500', 0.3);
export const dispatchHang = dispatchFault('dispatch-hang', 'hang', 0.25);
export const dispatchDrop = dispatchFault('dispatch-drop', 'drop', 0.25);

export const reportLost: Fault = {
  name: 'report-lost',
  arm(ctx) {
    const hit = firstThenRate(0.2, ctx.random);
    ctx.cluster.apiProxy.resultFault = () => (hit() ? 'lose' : null);
  },
};

export const reportTwice: Fault = {
  name: 'report-twice',
  arm(ctx) {
    const hit = firstThenRate(0.3, ctx.random);
    ctx.cluster.apiProxy.resultFault = () => (hit() ? 'twice' : null);
  },
};

/**
 * SIGSTOP one node while it holds leases, past the heartbeat timeout; once the API has reaped it,
 * SIGCONT. The node's own late reports (seen by the API proxy) and a replay of each reaped attempt's
 * result, sent by us with the lease's token, must all be refused.
 */
export const nodePause: Fault = {
  name: 'node-pause',
  async run(ctx, signal) {
    await pause(1000, signal);
    if (signal.aborted) return;
    // The node holding the most leases right now, so there is something to be late with.
    const busy = new Map(
      (await ctx.cluster.stack.workers().catch(() => [])).map((w) => [w.id, w.running]),
    );
    const node = [...ctx.nodes].sort((a, b) => (busy.get(b.id) ?? 0) - (busy.get(a.id) ?? 0))[0];
    const reported = new Set(
      ctx.cluster.apiProxy.reports
        .filter((r) => r.worker_id === node.id)
        .map((r) => `${r.job_id}#${r.attempt}`),
    );
    ctx.note(`SIGSTOP ${node.id}`);
    node.proc.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const held = node.proxy.dispatches.filter(
      (d) =>
        d.fault === null && !reported.has(`${d.job_id}#${d.attempt}`) && stoppedAt - d.at < 10_000,
    );
    try {
      await ctx.cluster.waitUnlisted(node.id, ctx.heartbeatTimeoutSec * 1000 + 20_000);
    } catch (err) {
      ctx.note(`${node.id} was not reaped: ${(err as Error).message}`);
    }
    await pause(500);
    ctx.note(`SIGCONT ${node.id} (held ${held.length} leases when stopped)`);
    node.proc.signal('SIGCONT');
    const resumedAt = Date.now();
    for (const d of held) {
      // Inside `mixed` the API may be restarting: ask again until it answers, for a while.
      const r = await untilAnswered(() =>
        ctx.cluster.stack.call(
          'POST',
          `/jobs/${encodeURIComponent(d.job_id)}/result`,
          {
            worker_id: node.id,
            attempt: d.attempt,
            token: d.token,
            exit_code: 0,
            stdout: '{"late":true}',
            stderr: '',
            duration_ms: 1,
            executor: 'native',
            timed_out: false,
          },
          { authorization: `Bearer ${ctx.cluster.token}` },
        ),
      );
      if (r) ctx.lateReports.push({ job_id: d.job_id, attempt: d.attempt, status: r.status });
    }
    // The node's own late reports of those attempts, once it has had a moment to send them.
    await pause(2000);
    const leases = new Set(held.map((d) => `${d.job_id}#${d.attempt}`));
    for (const r of ctx.cluster.apiProxy.reports) {
      if (
        r.worker_id === node.id &&
        r.at >= resumedAt &&
        leases.has(`${r.job_id}#${r.attempt}`) &&
        r.statuses.length
      ) {
        ctx.lateReports.push({ job_id: r.job_id, attempt: r.attempt, status: r.statuses[0] });
      }
    }
  },
};

/** The call's answer, retried while the API is down (a restart), or null after 30 s without one. */
async function untilAnswered<T>(call: () => Promise<T>): Promise<T | null> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      return await call();
    } catch {
      await pause(500);
    }
  }
  return null;
}

const ALARM_HOOK = 'FAULT_ALARM_FAIL_ONCE';

export const alarmHookPresent = (): boolean =>
  readFileSync(join(REPO_ROOT, 'durable-objects/scheduler.ts'), 'utf8').includes(ALARM_HOOK);

/**
 * The scheduler's alarm handler throwing once (the runtime retries alarms). It needs a test-only hook
 * in durable-objects/scheduler.ts (see test/chaos/README.md); with the hook, the API runs with
 * FAULT_ALARM_FAIL_ONCE=1 and every queue's object fails its first alarm, which this phase confirms
 * from the API log for its own queue.
 */
export const alarmFailOnce: Fault = {
  name: 'alarm-fail',
  skip: () =>
    alarmHookPresent()
      ? undefined
      : `needs the ${ALARM_HOOK} hook in durable-objects/scheduler.ts alarm() (see test/chaos/README.md)`,
  async run(ctx) {
    const queue = ctx.nodes[0]?.queue;
    // The queue's first alarm fails. It is due within a heartbeat timeout of the nodes' first
    // heartbeats, which can fall after a short load (and its log line can come late on a busy
    // machine): wait for it past the end of the load, within a bound, rather than miss it.
    const deadline = Date.now() + ctx.heartbeatTimeoutSec * 1000 + 10_000;
    while (Date.now() < deadline) {
      const hit = parseApiLog(ctx.cluster.apiChunks()).some(
        (e) => e.event === 'alarm_fault_injected' && e.queue === queue,
      );
      if (hit) return ctx.note(`the alarm of queue ${queue} failed once`);
      await pause(250);
    }
  },
};

export const ALL_FAULTS: Fault[] = [
  nodeKill,
  apiRestart,
  dispatch500,
  dispatchHang,
  dispatchDrop,
  reportLost,
  reportTwice,
  nodePause,
  alarmFailOnce,
  groupSignals,
  callbackReceivers(),
  cronStorm,
  d1Flaky,
  flowLimits([nodeKill, apiRestart]),
];

/** Everything at once, at the same rates: the wire faults armed and the process faults looping. */
export function mixed(faults: Fault[]): Fault {
  const live = faults.filter((f) => !f.skip?.());
  return {
    name: 'mixed',
    arm(ctx) {
      const kinds: Array<'500' | 'hang' | 'drop'> = ['500', 'hang', 'drop'];
      for (const n of ctx.nodes) {
        n.proxy.hangMs = ctx.dispatchTimeoutMs + 1000;
        n.proxy.dispatchFault = () => (ctx.random() < 0.15 ? pick(kinds, ctx.random) : null);
      }
      ctx.cluster.apiProxy.resultFault = () => {
        const x = ctx.random();
        return x < 0.08 ? 'lose' : x < 0.16 ? 'twice' : null;
      };
    },
    async run(ctx, signal) {
      await Promise.all(live.filter((f) => f.run).map((f) => f.run!(ctx, signal)));
    },
  };
}
