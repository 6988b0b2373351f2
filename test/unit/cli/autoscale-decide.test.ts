/** The rules of `cloud autoscale` (cli/autoscale/decide.ts), as tables of state, time and outcome. */
import { describe, expect, it } from 'vitest';
import {
  decide,
  exited,
  initialState,
  registered,
  restartDelayMs,
  stop,
  type Advice,
  FORCE_GRACE_MS,
  type AutoscaleState,
  type NodeState,
  type NodeStatus,
  type Policy,
} from '../../../cli/autoscale/decide';

const P: Policy = {
  minWorkers: 1,
  maxWorkers: 3,
  scaleDownStableMs: 2_000,
  startTimeoutMs: 60_000,
  restartBaseMs: 1_000,
  restartMaxMs: 60_000,
  stableRunMs: 60_000,
  drainTimeoutMs: 90_000,
};
const NOW = 1_000_000;

const node = (
  slot: number,
  status: NodeStatus = 'ready',
  o: Partial<NodeState> = {},
): NodeState => ({
  slot,
  id: `m-${slot}`,
  status,
  startedAt: NOW - 30_000,
  readyAt: status === 'ready' || status === 'draining' ? NOW - 25_000 : null,
  crashes: 0,
  restartAt: null,
  ...o,
});

const advice = (current: number, desired: number, o: Partial<Advice> = {}): Advice => ({
  action: desired > current ? 'scale_up' : desired < current ? 'scale_down' : 'hold',
  current,
  desired,
  reason: 'queue depth 30 exceeds QUEUE_THRESHOLD_HIGH (2)',
  queue: 'default',
  observedAt: NOW - 100,
  ...o,
});

const state = (nodes: NodeState[], a: Advice | null, o: Partial<AutoscaleState> = {}) => ({
  ...initialState(NOW - 20_000),
  nodes,
  advice: a,
  ...o,
});

/** The effects as `event type id`, the shortest readable form. */
const run = (s: AutoscaleState, p: Policy = P, now = NOW) => {
  const r = decide(s, now, 'm', p);
  return { ...r, summary: r.effects.map((e) => `${e.event} ${e.type} ${e.id}`) };
};

describe('decide: scaling', () => {
  const cases: Array<[string, AutoscaleState, string[], Policy?]> = [
    ['nothing yet: starts MIN_WORKERS', state([], null), ['scale_up start m-1']],
    [
      'below MIN_WORKERS 2: starts the missing one, advice or not',
      state([node(1)], null),
      ['scale_up start m-2'],
      { ...P, minWorkers: 2 },
    ],
    [
      'fresh advice for one more: starts it',
      state([node(1)], advice(1, 2)),
      ['scale_up start m-2'],
    ],
    [
      'advice for two more: starts both',
      state([node(1)], advice(1, 3)),
      ['scale_up start m-2', 'scale_up start m-3'],
    ],
    [
      'advice beyond the max: stops at it',
      state([node(1)], advice(1, 9)),
      ['scale_up start m-2', 'scale_up start m-3'],
    ],
    ['at the max already: nothing', state([node(1), node(2), node(3)], advice(3, 4)), []],
    [
      'an advice made before the last change here: not trusted',
      state([node(1), node(2)], advice(1, 2, { observedAt: NOW - 5_000 }), {
        changedAt: NOW - 4_000,
      }),
      [],
    ],
    [
      'a node still starting: the API cannot count it yet, so nothing',
      state([node(1), node(2, 'starting', { startedAt: NOW - 1_000 })], advice(1, 2)),
      [],
    ],
    [
      'the lowest free slot is taken, so ids repeat rather than grow',
      state([node(1), node(3)], advice(2, 3)),
      ['scale_up start m-2'],
    ],
    [
      'other machines count in the advice: only the difference is added here',
      state([node(1)], advice(5, 6)),
      ['scale_up start m-2'],
    ],
    ['hold: nothing', state([node(1), node(2)], advice(2, 2)), []],
    ['down to below MIN_WORKERS: held at it', state([node(1)], advice(1, 0)), []],
  ];
  it.each(cases)('%s', (_, s, expected, p) => {
    expect(run(s, p).summary).toEqual(expected);
  });

  it('a started node is recorded as starting, at its slot', () => {
    const { state: s } = run(state([node(1)], advice(1, 2)));
    expect(s.nodes.map((n) => [n.id, n.status, n.startedAt])).toEqual([
      ['m-1', 'ready', NOW - 30_000],
      ['m-2', 'starting', NOW],
    ]);
  });
});

describe('decide: scaling down only after the advice stayed low', () => {
  const three = [node(1), node(2), node(3)];
  const cases: Array<[string, AutoscaleState, string[], number | null]> = [
    ['first low advice: starts the clock', state(three, advice(3, 2)), [], NOW],
    [
      'low for less than SCALE_DOWN_STABLE_SEC: waits',
      state(three, advice(3, 2), { lowSince: NOW - 1_999 }),
      [],
      NOW - 1_999,
    ],
    [
      'low for SCALE_DOWN_STABLE_SEC: drains the newest, and the clock starts over',
      state(three, advice(3, 2), { lowSince: NOW - 2_000 }),
      ['scale_down drain m-3'],
      null,
    ],
    [
      'one drain at a time: another node still draining waits',
      state([node(1), node(2), node(3, 'draining')], advice(3, 1), { lowSince: NOW - 9_000 }),
      [],
      NOW - 9_000,
    ],
    [
      'a node waiting to restart goes first, with no process to signal',
      state(
        [node(1), node(2, 'waiting_restart', { restartAt: NOW + 5_000 }), node(3)],
        advice(3, 2),
        {
          lowSince: NOW - 2_000,
        },
      ),
      ['scale_down forget m-2'],
      null,
    ],
    [
      'the advice comes back up: the clock is reset',
      state(three, advice(3, 3), { lowSince: NOW - 1_500 }),
      [],
      null,
    ],
    [
      'a stale advice neither counts nor resets the clock',
      state(three, advice(3, 2, { observedAt: NOW - 3_000 }), {
        lowSince: NOW - 1_500,
        changedAt: NOW - 2_000,
      }),
      [],
      NOW - 1_500,
    ],
  ];
  it.each(cases)('%s', (_, s, expected, lowSince) => {
    const r = run(s);
    expect(r.summary).toEqual(expected);
    expect(r.state.lowSince).toBe(lowSince);
  });

  it('a drained node is marked draining and no longer counts', () => {
    const r = run(state(three, advice(3, 2), { lowSince: NOW - 2_000 }));
    expect(r.state.nodes.map((n) => n.status)).toEqual(['ready', 'ready', 'draining']);
  });
});

describe('crashes and restarts', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [7, 60_000],
    [20, 60_000],
  ])('crash %i in a row waits %i ms', (crashes, ms) => {
    expect(restartDelayMs(crashes, P)).toBe(ms);
  });

  it('an unasked exit waits out the backoff, then is restarted under the same id', () => {
    let s = state([node(1, 'ready', { startedAt: NOW - 5_000 }), node(2)], advice(2, 2));
    s = exited(s, 1, NOW, P);
    expect(s.nodes[0]).toMatchObject({
      status: 'waiting_restart',
      crashes: 1,
      restartAt: NOW + 1_000,
    });
    expect(run(s, P, NOW + 999).summary).toEqual([]);
    const r = run(s, P, NOW + 1_000);
    expect(r.summary).toEqual(['restart start m-1']);
    expect(r.state.nodes[0]).toMatchObject({ status: 'starting', startedAt: NOW + 1_000 });
  });

  it('crashes in a row double the wait; a run of stableRunMs starts the count afresh', () => {
    const quick = state([node(1, 'starting', { startedAt: NOW - 500, crashes: 2 })], null);
    expect(exited(quick, 1, NOW, P).nodes[0]).toMatchObject({ crashes: 3, restartAt: NOW + 4_000 });
    const long = state([node(1, 'ready', { startedAt: NOW - 60_000, crashes: 2 })], null);
    expect(exited(long, 1, NOW, P).nodes[0]).toMatchObject({ crashes: 1, restartAt: NOW + 1_000 });
  });

  it('a crashed node still counts: no second node is started for it', () => {
    const s = exited(state([node(1)], advice(1, 1)), 1, NOW, P);
    expect(run(s).summary).toEqual([]);
  });

  it('a drained node that exits is gone, and the change is dated', () => {
    const s = exited(state([node(1), node(2, 'draining')], null), 2, NOW, P);
    expect(s.nodes.map((n) => n.id)).toEqual(['m-1']);
    expect(s.changedAt).toBe(NOW);
  });
});

describe('registration', () => {
  it('a starting node that registers is ready, and the change is dated', () => {
    const s = registered(state([node(1, 'starting')], null), 1, NOW);
    expect(s.nodes[0]).toMatchObject({ status: 'ready', readyAt: NOW });
    expect(s.changedAt).toBe(NOW);
  });

  it('a node that never says it registered is taken as registered after startTimeoutMs', () => {
    const s = state([node(1, 'starting', { startedAt: NOW - 60_000 })], advice(1, 2));
    const r = run(s);
    expect(r.state.nodes[0].status).toBe('ready');
    // The advice predates that change: nothing more until a fresh one.
    expect(r.summary).toEqual([]);
  });
});

describe('stop', () => {
  it('drains every running node, forgets those waiting to restart, then starts nothing', () => {
    const s = state(
      [
        node(1),
        node(2, 'starting'),
        node(3, 'waiting_restart', { restartAt: NOW }),
        node(4, 'draining'),
      ],
      advice(1, 9),
    );
    const r = stop(s, NOW);
    expect(r.effects.map((e) => `${e.type} ${e.id}`)).toEqual([
      'drain m-1',
      'drain m-2',
      'forget m-3',
    ]);
    expect(r.state.nodes.map((n) => n.status)).toEqual(['draining', 'draining', 'draining']);
    expect(run(r.state).summary).toEqual([]);
    // Every exit now removes the node, crashed or not.
    const after = [1, 2, 4].reduce((acc, slot) => exited(acc, slot, NOW, P), r.state);
    expect(after.nodes).toEqual([]);
  });
});

describe('a drain that does not end', () => {
  const draining = (o: Partial<NodeState>) =>
    state([node(1), node(2, 'draining', o)], advice(1, 1));
  it.each([
    ['within the drain timeout: left alone', { drainAt: NOW - 89_999 }, []],
    ['at the drain timeout: forced', { drainAt: NOW - 90_000 }, ['drain_overdue force m-2']],
    [
      'forced, and still there after the grace: killed',
      { drainAt: NOW - 200_000, forcedAt: NOW - FORCE_GRACE_MS },
      ['drain_overdue kill m-2'],
    ],
    [
      'forced, within the grace: left alone',
      { drainAt: NOW - 200_000, forcedAt: NOW - FORCE_GRACE_MS + 1 },
      [],
    ],
    ['killed already: not again', { drainAt: NOW - 200_000, forcedAt: Infinity }, []],
  ])('%s', (_, o, expected) => {
    expect(run(draining(o)).summary).toEqual(expected);
  });

  it('also while stopping', () => {
    const s = stop(state([node(1)], null), NOW - 90_000).state;
    expect(run(s).summary).toEqual(['drain_overdue force m-1']);
  });

  it('a drained node records when it was asked', () => {
    const r = run(state([node(1), node(2)], advice(2, 1), { lowSince: NOW - 2_000 }));
    expect(r.state.nodes[1]).toMatchObject({ status: 'draining', drainAt: NOW });
  });
});
