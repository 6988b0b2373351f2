/**
 * The running `cloud autoscale`: gathers the advice (polls of GET /stats, webhook events), asks
 * decide.ts what to do at each change and every half second, carries out its effects on the node
 * processes (node-processes.ts), logs each action, and on SIGINT/SIGTERM drains every node and
 * resolves once the last one has exited.
 *
 * Unlike the other commands this one owns the process: its signals and its children are the point.
 */
import type { Recommendation } from '../../src/core/autoscale';
import { SignalCounter } from '../../worker-node/src/signals';
import { describeError } from '../exit-codes';
import type { ApiClient } from '../http';
import { adviceFor, fromStats } from './advice';
import type { AutoscaleConfig } from './config';
import * as d from './decide';
import { redraw, renderScreen, RECENT_LINES, type LogLine } from './display';
import { NodeProcesses, type ExitInfo } from './node-processes';
import { listenForAdvice, type WebhookListener } from './webhook-listener';

const TICK_MS = 500;

export interface SupervisorIo {
  out(text: string): void;
  /** stdout is a terminal and --plain is not set: draw the live screen instead of log lines. */
  live: boolean;
  env: Record<string, string | undefined>;
  now(): number;
}

export async function runAutoscaler(
  config: AutoscaleConfig,
  client: ApiClient,
  io: SupervisorIo,
): Promise<number> {
  const now = io.now;
  let state = d.initialState(now());
  const byQueue = new Map<string, { rec: Recommendation; observedAt: number }>();
  const recent: LogLine[] = [];
  let problem: string | null = null;

  const render = () => {
    if (!io.live) return;
    const pids = new Map<number, number>();
    for (const n of state.nodes) {
      const pid = nodes.pid(n.slot);
      if (pid !== undefined) pids.set(n.slot, pid);
    }
    io.out(
      redraw(
        renderScreen({ state, config, apiUrl: client.base, pids, recent, now: now(), problem }),
      ),
    );
  };
  const log = (event: string, fields: Record<string, unknown> = {}) => {
    const line: LogLine = { event, ts: new Date(now()).toISOString(), ...fields };
    recent.push(line);
    if (recent.length > RECENT_LINES) recent.shift();
    if (io.live) render();
    else io.out(JSON.stringify(line) + '\n');
  };

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const apply = (effects: d.Effect[]) => {
    for (const e of effects) {
      const node = state.nodes.find((n) => n.slot === e.slot);
      const base = { node: e.id, reason: e.reason, nodes: d.active(state).length };
      if (e.type === 'start') {
        const pid = nodes.start(e.slot, e.id);
        log(e.event, {
          ...base,
          pid,
          ...(e.event === 'restart' ? { crashes: node?.crashes } : {}),
        });
      } else if (e.type === 'drain') {
        log(e.event, { ...base, pid: nodes.pid(e.slot) });
        nodes.signal(e.slot, 'SIGTERM');
      } else if (e.type === 'force' || e.type === 'kill') {
        log(e.event, { node: e.id, pid: nodes.pid(e.slot), reason: e.reason });
        nodes.signal(e.slot, e.type === 'force' ? 'SIGTERM' : 'SIGKILL');
      } else log(e.event, { ...base, pid: null, was: 'waiting_restart' });
    }
  };
  const step = () => {
    const r = d.decide(state, now(), config.idPrefix, config.policy);
    state = r.state;
    apply(r.effects);
    if (state.stopping && state.nodes.length === 0) finish(0);
  };

  const nodes = new NodeProcesses(config, client.base, io.env, {
    registered(slot) {
      state = d.registered(state, slot, now());
      log('node_registered', { node: d.nodeId(config.idPrefix, slot), pid: nodes.pid(slot) });
      step();
    },
    exited(slot, info: ExitInfo) {
      const before = state.nodes.find((n) => n.slot === slot);
      if (!before) return;
      const expected = before.status === 'draining' || state.stopping;
      state = d.exited(state, slot, now(), config.policy);
      const after = state.nodes.find((n) => n.slot === slot);
      log(expected ? 'node_exited' : 'node_crashed', {
        node: before.id,
        code: info.code,
        signal: info.signal,
        ...(expected ? {} : { restart_in_ms: (after?.restartAt ?? now()) - now() }),
        ...(expected || info.stderrTail.length === 0 ? {} : { stderr_tail: info.stderrTail }),
      });
      step();
    },
  });

  let lastAdvice = '';
  const takeAdvice = (source: 'poll' | 'webhook') => {
    const advice = adviceFor(byQueue, config.queues);
    const key = advice ? `${advice.action} ${advice.current} ${advice.desired}` : '';
    if (advice && key !== lastAdvice)
      log('advice', {
        action: advice.action,
        current_workers: advice.current,
        desired_workers: advice.desired,
        queue: advice.queue,
        reason: advice.reason,
        source,
      });
    lastAdvice = key;
    if (advice) state = d.advised(state, advice);
    step();
  };

  // The sources of advice.
  let polling = true;
  const poll = async () => {
    let warnedEmpty = false;
    while (polling && config.intervalSec !== null) {
      const sentAt = now();
      try {
        const body = await client.call<unknown>('GET', '/stats', {
          auth: client.config.adminToken ? 'admin' : 'key',
        });
        if (problem) log('api_reachable', {});
        problem = null;
        const recs = fromStats(body);
        if (
          recs.size === 0 &&
          !warnedEmpty &&
          !(body as { autoscale_by_queue?: unknown }).autoscale_by_queue
        ) {
          warnedEmpty = true;
          log('no_advice', {
            message:
              'GET /stats carries no autoscale_by_queue: an API key sees none, use CLOUD_ADMIN_TOKEN',
          });
        }
        for (const [q, rec] of recs) byQueue.set(q, { rec, observedAt: sentAt });
        takeAdvice('poll');
      } catch (err) {
        const message = describeError(err);
        if (message !== problem) log('poll_failed', { message });
        problem = message;
      }
      await sleepUnless(config.intervalSec * 1000, () => !polling);
    }
  };
  let listener: WebhookListener | null = null;
  if (config.listen && config.webhookSecret) {
    listener = await listenForAdvice({
      ...config.listen,
      secret: config.webhookSecret,
      log,
      onAdvice(queue, rec, madeAt) {
        // The API's clock: a machine whose clock runs ahead waits for the next event rather than
        // acting twice on one.
        byQueue.set(queue, { rec, observedAt: madeAt });
        takeAdvice('webhook');
      },
    });
  }

  log('autoscale_started', {
    api: client.base,
    queues: config.queues,
    mode: config.mode,
    min_workers: config.policy.minWorkers,
    max_workers: config.policy.maxWorkers,
    scale_down_stable_sec: config.policy.scaleDownStableMs / 1000,
    interval_sec: config.intervalSec,
    listen: listener ? `${config.listen!.host}:${listener.port}` : null,
  });
  step();
  const polled = poll();
  const ticker = setInterval(() => {
    step();
    render();
  }, TICK_MS);

  // SIGINT/SIGTERM: drain; a deliberate second one forwards the force to the nodes; a third leaves.
  // Copies of one signal relayed by npx or the terminal's process group count once.
  const signals = new SignalCounter();
  const onSignal = (name: NodeJS.Signals) => {
    const meaning = signals.classify(Date.now());
    if (meaning === 'duplicate') return;
    if (meaning === 'drain') {
      polling = false;
      log('autoscale_stopping', { signal: name, draining: state.nodes.length });
      const r = d.stop(state, now());
      state = r.state;
      apply(r.effects);
      if (state.nodes.length === 0) finish(0);
    } else if (meaning === 'force') {
      log('autoscale_forcing', { signal: name, nodes: state.nodes.length });
      for (const n of state.nodes) nodes.signal(n.slot, 'SIGTERM');
    } else {
      log('autoscale_aborted', { signal: name, left: state.nodes.map((n) => n.id) });
      finish(1);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const code = await finished;
  polling = false;
  clearInterval(ticker);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await listener?.close();
  await polled;
  log('autoscale_stopped', { exit_code: code });
  return code;
}

/** Sleeps `ms`, waking early (every 100 ms check) once `stop()` says so. */
async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end)
    await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
