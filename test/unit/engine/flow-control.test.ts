import { describe, expect, it } from 'vitest';
import { QueueEngine } from '../../../src/core/engine/engine';
import type { EngineJob, EngineNode } from '../../../src/core/engine/job';
import type { EngineSettings } from '../../../src/core/engine/effects';
import { RateGate } from '../../../src/core/rate-gate';
import { MemoryStore } from '../../sim/memory-store';
import { newJob, pushNode, unitSettings } from '../../sim/jobs';

const settings: EngineSettings = {
  ...unitSettings,
  backoff: { type: 'fixed', baseSec: 1, maxSec: 1, jitter: false },
};
const node = pushNode;
const rate = (key: string, limit: number, period_sec: number) =>
  JSON.stringify({ key, limit, period_sec });

function setup(store = new MemoryStore()) {
  let t = 0;
  const boot = () => {
    const e = new QueueEngine(
      store,
      () => settings,
      () => `tok${++t}`,
    );
    const r = store.restoreInput();
    e.restore(r.queued, r.timed, r.running, r.flow);
    return e;
  };
  const w = { engine: boot() };
  let seq = 0;
  const submit = (over: Partial<EngineJob> = {}): EngineJob => {
    seq++;
    const job: EngineJob = { ...newJob(seq, 1000 + seq, 1, 1, 300, null), ...over };
    store.insert(job);
    w.engine.accept(job);
    return job;
  };
  const dispatch = (now: number, ...nodes: EngineNode[]) =>
    w.engine
      .dispatch(
        now,
        nodes,
        nodes.map((n) => ({ node: n, max: Infinity })),
      )
      .flatMap((e) => (e.kind === 'dispatch' ? e.jobs.map((j) => ({ ...j, node: e.nodeId })) : []));
  const finish = (
    d: { job_id: string; attempt: number; token: string; node: string },
    now: number,
    exit = 0,
  ) =>
    w.engine.report(
      { job_id: d.job_id, attempt: d.attempt, token: d.token, worker_id: d.node },
      {
        ...{ worker_id: d.node, attempt: d.attempt, token: d.token, exit_code: exit },
        ...{ stdout: '', stderr: '', duration_ms: 1, executor: 'native', timed_out: false },
      },
      now,
    );
  return { store, w, boot, submit, dispatch, finish };
}

describe('RateGate: a sliding log of starts per key', () => {
  it('lets `limit` starts through in any window of the period, and names when the next may start', () => {
    const g = new RateGate();
    const spec = { key: 'k', limit: 2, period_sec: 10 };
    expect(g.blockedUntil(spec, 0)).toBeNull();
    g.started(spec, 0);
    g.started(spec, 4000);
    expect(g.blockedUntil(spec, 4000)).toBe(10_000);
    expect(g.blockedUntil(spec, 9999)).toBe(10_000);
    // At 10 s the first start leaves the window (a start counts while now - t < period).
    expect(g.blockedUntil(spec, 10_000)).toBeNull();
    g.started(spec, 10_000);
    expect(g.blockedUntil(spec, 10_000)).toBe(14_000);
    // Another key, and the same key with a higher limit, are not held back.
    expect(g.blockedUntil({ ...spec, key: 'other' }, 10_000)).toBeNull();
    expect(g.blockedUntil({ ...spec, limit: 3 }, 10_000)).toBeNull();
  });

  it('wakes as many parked jobs as the window has room for, in the key order', () => {
    const g = new RateGate();
    const spec = { key: 'k', limit: 2, period_sec: 1 };
    g.started(spec, 0);
    g.started(spec, 0);
    for (const seq of [5, 3, 4]) g.park(spec, seq, seq, 1000);
    expect(g.nextWake()).toBe(1000);
    expect(g.due(999, () => true)).toEqual([]);
    expect(g.due(1000, () => true)).toEqual([3, 4]);
    expect(g.parkedSize).toBe(1);
    // A cancelled job (not alive) takes no room.
    g.started(spec, 1000);
    g.started(spec, 1000);
    expect(g.nextWake()).toBe(2000);
    expect(g.due(2000, (seq) => seq !== 5)).toEqual([]);
    expect(g.parkedSize).toBe(0);
    expect(g.nextWake()).toBe(Infinity);
  });
});

describe('QueueEngine: rate limits per key', () => {
  it('starts at most `limit` jobs of a key per window; the others wait without holding a slot', () => {
    const { submit, dispatch, w } = setup();
    const limited = [1, 2, 3, 4, 5].map(() => submit({ rate_limit: rate('cust', 2, 10) }));
    const free = [submit(), submit()];
    const n = node('n', 10);
    const first = dispatch(10_000, n).map((d) => d.job_id);
    // Two of the key, and every unlimited job: the free slots are not held by the waiting ones.
    expect(first).toEqual([limited[0].id, limited[1].id, free[0].id, free[1].id]);
    expect(w.engine.rates.parkedSize).toBe(3);
    expect(w.engine.nextDeadline()).toBe(20_000);
    expect(dispatch(19_999, n)).toEqual([]);
    w.engine.tick(20_000);
    expect(dispatch(20_000, n).map((d) => d.job_id)).toEqual([limited[2].id, limited[3].id]);
    w.engine.tick(30_000);
    expect(dispatch(30_000, n).map((d) => d.job_id)).toEqual([limited[4].id]);
  });

  it('counts every attempt: a retry waits for room like a first start', () => {
    const { submit, dispatch, finish, w } = setup();
    const job = submit({ rate_limit: rate('k', 1, 60), max_retries: 2 });
    const n = node('n', 2);
    const [d] = dispatch(1000, n);
    finish(d, 1500, 1); // fails: retried after 1 s (fixed backoff)
    w.engine.tick(2500);
    expect(dispatch(2500, n)).toEqual([]);
    expect(w.engine.nextDeadline()).toBe(61_000);
    w.engine.tick(61_000);
    expect(dispatch(61_000, n).map((x) => [x.job_id, x.attempt])).toEqual([[job.id, 2]]);
  });

  it('remembers the window across a restart of the object', () => {
    const { submit, dispatch, boot, w } = setup();
    submit({ rate_limit: rate('k', 1, 60) });
    const second = submit({ rate_limit: rate('k', 1, 60) });
    const n = node('n', 2);
    expect(dispatch(1000, n)).toHaveLength(1);
    w.engine = boot();
    expect(dispatch(2000, n)).toEqual([]);
    expect(w.engine.nextDeadline()).toBe(61_000);
    w.engine.tick(61_000);
    expect(dispatch(61_000, n).map((d) => d.job_id)).toEqual([second.id]);
  });
});

describe('QueueEngine: queue controls', () => {
  it('a paused queue starts nothing, keeps what runs, and starts again when resumed', () => {
    const { submit, dispatch, finish, w, store } = setup();
    const a = submit();
    const n = node('n', 4);
    const [running] = dispatch(1000, n);
    w.engine.controls = { paused: true, concurrency_limit: null };
    store.controls = { paused: true, concurrency_limit: null };
    const b = submit();
    expect(dispatch(2000, n)).toEqual([]);
    expect(finish(running, 2500)).toMatchObject({ held: true, status: 'succeeded' });
    expect(running.job_id).toBe(a.id);
    expect(dispatch(3000, n)).toEqual([]);
    w.engine.controls = { paused: false, concurrency_limit: null };
    expect(dispatch(4000, n).map((d) => d.job_id)).toEqual([b.id]);
  });

  it('the pause survives a restart (the shell stores it; restore reads it)', () => {
    const { submit, dispatch, boot, w, store } = setup();
    store.controls = { paused: true, concurrency_limit: null };
    w.engine = boot();
    submit();
    expect(dispatch(1000, node('n', 1))).toEqual([]);
    expect(w.engine.controls.paused).toBe(true);
  });

  it('the cap bounds the running jobs across every node; lowering it stops nothing', () => {
    const { submit, dispatch, finish, w } = setup();
    for (let i = 0; i < 6; i++) submit();
    w.engine.controls = { paused: false, concurrency_limit: 2 };
    const nodes = [node('a', 3), node('b', 3)];
    const first = dispatch(1000, ...nodes);
    expect(first).toHaveLength(2);
    expect(dispatch(1100, ...nodes)).toEqual([]);
    finish(first[0], 1200);
    expect(dispatch(1300, ...nodes)).toHaveLength(1);
    w.engine.controls = { paused: false, concurrency_limit: 1 };
    expect(w.engine.leases.size).toBe(2);
    expect(dispatch(1400, ...nodes)).toEqual([]);
    w.engine.controls = { paused: false, concurrency_limit: null };
    expect(dispatch(1500, ...nodes)).toHaveLength(3);
  });
});
