/**
 * What `cloud autoscale` does next, decided apart from doing it: the state of this machine's nodes
 * and the API's latest advice go in with the time, the next state and a list of effects (start,
 * signal, forget) come out. The supervisor (supervisor.ts) applies the effects and feeds back what
 * happened (a node registered, a node exited). Pure, so every rule is a row in a unit test.
 *
 * The API's advice is about the whole pool it sees: `desired_workers - current_workers` is how many
 * nodes it wants added (or removed). This machine applies that delta to its own count, within
 * [MIN_WORKERS, min(MAX_WORKERS, cap)]. An advice only counts when it was observed after the last
 * change here settled (every new node registered, every drained node gone): otherwise the API has
 * not yet seen that change and the same delta would be applied twice.
 */

export type NodeStatus = 'starting' | 'ready' | 'draining' | 'waiting_restart';

export interface NodeState {
  /** 1, 2, ...: the lowest free one is taken, so ids and ports repeat rather than grow. */
  slot: number;
  id: string;
  status: NodeStatus;
  /** When its current process was started. */
  startedAt: number;
  /** When it registered with the API (or was assumed to, after startTimeoutMs); null before. */
  readyAt: number | null;
  /** Unrequested exits in a row; reset once a process has run for stableRunMs. */
  crashes: number;
  /** For `waiting_restart`: when to start it again. */
  restartAt: number | null;
  /** For `draining`: when it was asked to drain, and when it was forced (the second SIGTERM). */
  drainAt?: number;
  forcedAt?: number;
}

/** The API's advice for the queues this machine serves, combined (advice.ts). */
export interface Advice {
  action: 'scale_up' | 'scale_down' | 'hold';
  current: number;
  desired: number;
  reason: string;
  queue: string | null;
  /** When the poll that fetched it was sent (this machine's clock), or a webhook event's `since`. */
  observedAt: number;
}

export interface AutoscaleState {
  nodes: NodeState[];
  advice: Advice | null;
  /** Since when every fresh advice has asked for fewer nodes than run here; null when not. */
  lowSince: number | null;
  /** The last change of the node set the API can see: a registration or a drained exit. */
  changedAt: number;
  /** Set on SIGINT/SIGTERM: every node is drained and none started. */
  stopping: boolean;
}

export interface Policy {
  minWorkers: number;
  /** min(MAX_WORKERS, the per-machine cap). */
  maxWorkers: number;
  scaleDownStableMs: number;
  /** A node that has not logged its registration by then is taken as registered (custom commands). */
  startTimeoutMs: number;
  restartBaseMs: number;
  restartMaxMs: number;
  /** A process that ran this long before exiting starts the crash count afresh. */
  stableRunMs: number;
  /**
   * A drain that has not ended by then is forced (a second SIGTERM: the node kills its jobs and
   * hands them back), and killed (SIGKILL to its group) FORCE_GRACE_MS after that.
   */
  drainTimeoutMs: number;
}

export const FORCE_GRACE_MS = 10_000;

export type Effect =
  | { type: 'start'; event: 'scale_up' | 'restart'; slot: number; id: string; reason: string }
  | { type: 'drain'; event: 'scale_down'; slot: number; id: string; reason: string }
  /** A node waiting to restart that is no longer wanted: there is no process to signal. */
  | { type: 'forget'; event: 'scale_down'; slot: number; id: string; reason: string }
  /** A drain past its deadline: `force` is the second SIGTERM, `kill` the SIGKILL after it. */
  | { type: 'force' | 'kill'; event: 'drain_overdue'; slot: number; id: string; reason: string };

export const initialState = (now: number): AutoscaleState => ({
  nodes: [],
  advice: null,
  lowSince: null,
  changedAt: now,
  stopping: false,
});

export const nodeId = (prefix: string, slot: number) => `${prefix}-${slot}`;

/** Nodes that count towards the target: all but those draining away. */
export const active = (s: AutoscaleState) => s.nodes.filter((n) => n.status !== 'draining');

export function restartDelayMs(crashes: number, p: Policy): number {
  return Math.min(p.restartMaxMs, p.restartBaseMs * 2 ** Math.max(0, crashes - 1));
}

const replace = (s: AutoscaleState, slot: number, f: (n: NodeState) => NodeState | null) => ({
  ...s,
  nodes: s.nodes.flatMap((n) => {
    if (n.slot !== slot) return [n];
    const next = f(n);
    return next ? [next] : [];
  }),
});

/** The node logged `worker_registered`: the API now counts it. */
export function registered(s: AutoscaleState, slot: number, now: number): AutoscaleState {
  const n = s.nodes.find((x) => x.slot === slot);
  if (!n || n.status !== 'starting') return s;
  return { ...replace(s, slot, (x) => ({ ...x, status: 'ready', readyAt: now })), changedAt: now };
}

/**
 * A node's process ended. Drained (or stopping): it is gone. Otherwise it crashed: it waits out a
 * backoff that doubles with each crash in a row, then decide() starts it again under the same id.
 */
export function exited(s: AutoscaleState, slot: number, now: number, p: Policy): AutoscaleState {
  const n = s.nodes.find((x) => x.slot === slot);
  if (!n) return s;
  if (n.status === 'draining' || s.stopping)
    return { ...replace(s, slot, () => null), changedAt: now };
  const crashes = now - n.startedAt >= p.stableRunMs ? 1 : n.crashes + 1;
  return replace(s, slot, (x) => ({
    ...x,
    status: 'waiting_restart',
    readyAt: null,
    crashes,
    restartAt: now + restartDelayMs(crashes, p),
  }));
}

export function advised(s: AutoscaleState, advice: Advice): AutoscaleState {
  return { ...s, advice };
}

/** SIGINT/SIGTERM: drain every node that runs, forget those waiting to restart. */
export function stop(s: AutoscaleState, now: number): { state: AutoscaleState; effects: Effect[] } {
  const effects: Effect[] = [];
  const nodes: NodeState[] = [];
  for (const n of s.nodes) {
    if (n.status === 'waiting_restart') {
      effects.push({ type: 'forget', event: 'scale_down', slot: n.slot, id: n.id, reason: 'stop' });
      continue;
    }
    if (n.status !== 'draining')
      effects.push({ type: 'drain', event: 'scale_down', slot: n.slot, id: n.id, reason: 'stop' });
    nodes.push(n.status === 'draining' ? n : { ...n, status: 'draining', drainAt: now });
  }
  return { state: { ...s, nodes, stopping: true }, effects };
}

/** The advice's delta applied to the nodes here, within the bounds; null when it cannot be trusted yet. */
export function targetOf(s: AutoscaleState, p: Policy): number | null {
  const a = s.advice;
  if (!a || a.observedAt < s.changedAt) return null;
  if (s.nodes.some((n) => n.status === 'starting')) return null;
  const here = active(s).length;
  return Math.min(p.maxWorkers, Math.max(p.minWorkers, here + (a.desired - a.current)));
}

export function decide(
  state: AutoscaleState,
  now: number,
  prefix: string,
  p: Policy,
): { state: AutoscaleState; effects: Effect[] } {
  let s = state;
  const effects: Effect[] = [];
  for (const n of s.nodes) {
    if (n.status !== 'draining' || n.drainAt === undefined) continue;
    if (n.forcedAt === undefined && now - n.drainAt >= p.drainTimeoutMs) {
      s = replace(s, n.slot, (x) => ({ ...x, forcedAt: now }));
      effects.push({
        type: 'force',
        event: 'drain_overdue',
        slot: n.slot,
        id: n.id,
        reason: `still draining after ${p.drainTimeoutMs / 1000}s: forced`,
      });
    } else if (n.forcedAt !== undefined && now - n.forcedAt >= FORCE_GRACE_MS) {
      // Killed once: its exit removes it; until then this is not repeated.
      s = replace(s, n.slot, (x) => ({ ...x, forcedAt: Infinity }));
      effects.push({
        type: 'kill',
        event: 'drain_overdue',
        slot: n.slot,
        id: n.id,
        reason: `still there ${FORCE_GRACE_MS / 1000}s after the forced exit: killed`,
      });
    }
  }
  if (s.stopping) return { state: s, effects };

  // A node whose command never logs its registration is taken as registered after a while.
  for (const n of s.nodes)
    if (n.status === 'starting' && now - n.startedAt >= p.startTimeoutMs)
      s = {
        ...replace(s, n.slot, (x) => ({ ...x, status: 'ready', readyAt: now })),
        changedAt: now,
      };

  for (const n of s.nodes)
    if (n.status === 'waiting_restart' && n.restartAt !== null && n.restartAt <= now) {
      s = replace(s, n.slot, (x) => ({
        ...x,
        status: 'starting',
        startedAt: now,
        restartAt: null,
      }));
      effects.push({
        type: 'start',
        event: 'restart',
        slot: n.slot,
        id: n.id,
        reason: `crashed ${n.crashes} time(s) in a row`,
      });
    }

  const start = (count: number, reason: string) => {
    for (let i = 0; i < count; i++) {
      const used = new Set(s.nodes.map((n) => n.slot));
      let slot = 1;
      while (used.has(slot)) slot++;
      const id = nodeId(prefix, slot);
      const node: NodeState = {
        slot,
        id,
        status: 'starting',
        startedAt: now,
        readyAt: null,
        crashes: 0,
        restartAt: null,
      };
      s = { ...s, nodes: [...s.nodes, node].sort((a, b) => a.slot - b.slot) };
      effects.push({ type: 'start', event: 'scale_up', slot, id, reason });
    }
  };

  const here = active(s).length;
  if (here < p.minWorkers) {
    start(p.minWorkers - here, `${here} node(s) here, below MIN_WORKERS (${p.minWorkers})`);
    return { state: { ...s, lowSince: null }, effects };
  }

  const target = targetOf(s, p);
  if (target === null) return { state: s, effects };
  // combine() (advice.ts) has already put the queue's name in the reason.
  const reason = s.advice!.reason;
  if (target > here) {
    start(target - here, reason);
    return { state: { ...s, lowSince: null }, effects };
  }
  if (target === here) return { state: { ...s, lowSince: null }, effects };

  // Fewer wanted: only after it has been so for the stable period, and one drain at a time.
  const lowSince = s.lowSince ?? now;
  s = { ...s, lowSince };
  if (now - lowSince < p.scaleDownStableMs || s.nodes.some((n) => n.status === 'draining'))
    return { state: s, effects };
  // The cheapest to drop first: nodes waiting to restart, then the newest.
  const victims = [...active(s)]
    .sort((a, b) => rank(a) - rank(b) || b.slot - a.slot)
    .slice(0, here - target);
  for (const v of victims) {
    if (v.status === 'waiting_restart') {
      s = replace(s, v.slot, () => null);
      effects.push({ type: 'forget', event: 'scale_down', slot: v.slot, id: v.id, reason });
    } else {
      s = replace(s, v.slot, (x) => ({ ...x, status: 'draining', drainAt: now }));
      effects.push({ type: 'drain', event: 'scale_down', slot: v.slot, id: v.id, reason });
    }
  }
  return { state: { ...s, lowSince: null }, effects };
}

const rank = (n: NodeState) => (n.status === 'waiting_restart' ? 0 : 1);
