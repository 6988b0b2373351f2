/**
 * `flow-limits` (issue 17, "Limits that can be checked"): the flow-control limits measured from
 * outside while nodes are SIGKILLed and restarted and the API is killed and restarted. The phase's
 * jobs (flow-plan.ts) call a receiver in this process that records every run (flow-receiver.ts);
 * the queue runs under a concurrency cap and is paused and resumed mid-load. Once every job is
 * terminal, flow-checker.ts counts over-limit starts per rate key, starts over the queue's cap,
 * starts during a pause, runs per debounced burst beyond one (or of a payload other than the last,
 * or before the delay), and jobs run per dedup key beyond one. Any of them fails the phase.
 */
import { writeFileSync } from 'node:fs';
import type { Job } from '../../src/protocol/job';
import { checkFlow, type FlowSubmission } from './flow-checker';
import { FLOW_LIMITS, flowParts, planFlow, submitPlan, withTimeout } from './flow-plan';
import { startFlowReceiver, type FlowReceiver } from './flow-receiver';
import type { Fault, PhaseContext } from './faults';
import { pause } from './pause';

/** The most a dispatch may take from the engine's decision to its arrival at the receiver. */
export const FLOW_JITTER_MS = 750;
const PAUSE_MS = 2500;

/** `nemeses`: the faults whose loops run during the load (node kills and API restarts). */
export function flowLimits(nemeses: Fault[]): Fault {
  let armed = false;
  let receiver: FlowReceiver | undefined;
  let submissions: FlowSubmission[] = [];
  const pauses: Array<{ from: number; to: number }> = [];
  const parts = flowParts();
  return {
    name: 'flow-limits',
    arm() {
      armed = true; // inside `mixed` it is not armed: its jobs are the suite's sleeps
    },
    async submit(ctx, n, rate) {
      const queue = ctx.nodes[0].queue;
      receiver = await startFlowReceiver();
      if (parts.has('cap')) {
        const cap = await untilAnswered(ctx, 'PUT', `/queues/${queue}`, {
          concurrency_limit: FLOW_LIMITS.concurrencyLimit,
        });
        if (!ok(cap.status))
          throw new Error(
            `PUT /queues/${queue} answered ${cap.status}: ${JSON.stringify(cap.body)}`,
          );
      }
      const plan = planFlow(queue, n, rate, ctx.random, parts);
      const done = await submitPlan(ctx.cluster, queue, plan, receiver);
      submissions = done.submissions;
      return done;
    },
    async run(ctx, signal) {
      if (!armed) return;
      const loops = nemeses.map((f) => f.run?.(ctx, signal));
      try {
        if (parts.has('pause')) await pauseCycles(ctx, signal, pauses);
      } finally {
        await Promise.all(loops);
      }
    },
    verdict() {
      if (!armed || !receiver) return { violations: [] };
      armed = false;
      const arrivals = receiver.arrivals();
      void receiver.close();
      const { counts, violations } = checkFlow({
        submissions,
        arrivals,
        queueCap: parts.has('cap') ? FLOW_LIMITS.concurrencyLimit : undefined,
        pauses,
        jitterMs: FLOW_JITTER_MS,
      });
      // The raw evidence, to replay a failing run through the checker.
      if (process.env.CHAOS_FLOW_DUMP)
        writeFileSync(
          process.env.CHAOS_FLOW_DUMP,
          JSON.stringify({ submissions, arrivals, pauses, parts: [...parts] }, null, 1),
        );
      const covered = [...parts].join(', ');
      return { violations, detail: `covers ${covered}: ${JSON.stringify(counts)}` };
    },
  };
}

/** Pauses the queue for PAUSE_MS and resumes it while the load runs, at least once; never left paused. */
async function pauseCycles(
  ctx: PhaseContext,
  signal: AbortSignal,
  pauses: Array<{ from: number; to: number }>,
): Promise<void> {
  const queue = ctx.nodes[0].queue;
  for (let cycle = 0; cycle === 0 || !signal.aborted; cycle++) {
    await pause(1500 + ctx.random() * 2000, cycle === 0 ? undefined : signal);
    if (cycle > 0 && signal.aborted) break;
    const paused = await untilAnswered(ctx, 'POST', `/queues/${queue}/pause`);
    if (!ok(paused.status)) throw new Error(`pause answered ${paused.status}`);
    const from = Date.now(); // it took effect by its answer
    ctx.note(`paused ${queue}`);
    await pause(PAUSE_MS);
    const to = Date.now(); // it may take effect from its first try
    const resumed = await untilAnswered(ctx, 'POST', `/queues/${queue}/resume`);
    if (!ok(resumed.status)) throw new Error(`resume answered ${resumed.status}`);
    pauses.push({ from, to });
  }
}

const ok = (status: number) => status >= 200 && status < 300;

/** The API's answer, asked again while it is down (a restart), for up to a minute. */
async function untilAnswered(
  ctx: PhaseContext,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await withTimeout(
        ctx.cluster.stack.call<{ job?: Job }>(method, path, body),
        15_000,
      );
      if (r.status < 500 || Date.now() > deadline) return r;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await pause(500);
  }
}
