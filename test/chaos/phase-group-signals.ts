/**
 * SIGTERM and SIGINT to a node's whole process group mid-load, then the node started again
 * (issue 12, item 5). A group signal reaches the node more than once (npm relays it), and once made
 * the node force-exit 40 ms into its drain, killing its runners and leaving their jobs `running`
 * until the heartbeat timeout.
 *
 * The phase restarts each node it signals as `npm run worker`, so from its second signal on, the
 * group is npm's and the relays are real. Every third signal is followed 1.5 s later by a
 * deliberate second one, which must force exit and hand the leases back (re-queued with a
 * `job_requeued`, which the checker takes as the explanation of the re-run). The checker's usual
 * assertions cover the jobs; the phase itself fails (throws) when a node signalled once does not
 * drain to exit 0, or force-exits.
 */
import { startNodeProcess } from '../e2e/node-process';
import type { ChaosNode } from './cluster';
import type { Fault, PhaseContext } from './faults';
import { pause } from './pause';

/** A drain takes DRAIN_TIMEOUT_SEC (5 s) at most, plus a report and a DELETE; a SIGSTOP (mixed) adds more. */
const EXIT_BOUND_MS = 60_000;
const FORCE_AFTER_MS = 1_500;
/** Exit code of a process that another fault (node-kill) SIGKILLed: that fault owns the node now. */
const SIGKILLED = 137;

export const groupSignals: Fault = {
  name: 'group-signal',
  async run(ctx, signal) {
    const cycling = new Map<ChaosNode, Promise<void>>();
    const problems: string[] = [];
    let sent = 0;
    while (!signal.aborted) {
      await pause(400 + ctx.random() * 1200, signal);
      if (signal.aborted) break;
      // Only nodes that have registered: a node still starting (another fault restarted it) has no
      // signal handlers yet, and the default action of a signal is not what this phase tests.
      const idle = ctx.nodes.filter(
        (x) =>
          !cycling.has(x) &&
          x.proc.exitCode === null &&
          x.proc.events('worker_registered').length > 0,
      );
      const node = idle[Math.floor(ctx.random() * idle.length)];
      if (!node) continue;
      const sig = ctx.random() < 0.5 ? 'SIGTERM' : 'SIGINT';
      // The second signal of the phase and every third after it is forced, so even a short run has one.
      const cycle = signalAndRestart(ctx, node, sig, sent++ % 3 === 1, problems);
      cycling.set(
        node,
        cycle.finally(() => cycling.delete(node)),
      );
    }
    await Promise.all(cycling.values());
    if (problems.length > 0) throw new Error(`group-signal: ${problems.join('; ')}`);
  },
};

async function signalAndRestart(
  ctx: PhaseContext,
  node: ChaosNode,
  sig: 'SIGTERM' | 'SIGINT',
  force: boolean,
  problems: string[],
): Promise<void> {
  const proc = node.proc;
  ctx.note(`${sig} to the process group of ${node.id}${force ? ', again 1.5 s later' : ''}`);
  proc.signalGroup(sig);
  if (force) {
    await pause(FORCE_AFTER_MS);
    proc.signalGroup(sig);
  }
  const code = await Promise.race([proc.exited, pause(EXIT_BOUND_MS).then(() => null)]);
  if (code === null) {
    problems.push(`${node.id} did not exit within ${EXIT_BOUND_MS} ms of ${sig}`);
    await proc.kill();
  } else if (code === SIGKILLED || node.proc !== proc) {
    return; // another fault took the node over mid-drain and restarts it itself
  } else if (!force && (code !== 0 || proc.events('worker_forced_exit').length > 0)) {
    problems.push(`${node.id} exited ${code} after one group ${sig} (a drain exits 0)`);
  } else if (force && code !== 0 && code !== 1) {
    problems.push(`${node.id} exited ${code} after a forced exit (want 1, or 0 if it was idle)`);
  }
  await pause(200 + ctx.random() * 800);
  node.proc = startNodeProcess({
    port: node.port,
    id: node.id,
    npm: true,
    echo: process.env.E2E_DEBUG === '1',
    // What cluster.ts gives its nodes.
    env: {
      API_URL: ctx.cluster.apiProxy.url,
      WORKER_TOKEN: ctx.cluster.token,
      WORKER_ENDPOINT: node.proxy.url,
      WORKER_CAPACITY: String(node.capacity),
      WORKER_QUEUES: node.queue,
      HEARTBEAT_INTERVAL_SEC: '1',
      DRAIN_TIMEOUT_SEC: '5',
    },
  });
  node.history.push(node.proc);
  await node.proc.waitForLog('worker_registered', undefined, 60_000).catch(() => undefined);
}
