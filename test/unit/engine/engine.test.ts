import { describe, expect, it } from 'vitest';
import { QueueEngine } from '../../../src/core/engine/engine';
import { holds, type EngineJob, type EngineNode } from '../../../src/core/engine/job';
import type { Effect } from '../../../src/core/engine/effects';
import { MemoryStore } from '../../sim/memory-store';
import { newJob, pushNode, unitSettings } from '../../sim/jobs';

const settings = unitSettings;
const node = pushNode;

function setup() {
  const store = new MemoryStore();
  let t = 0;
  const engine = new QueueEngine(
    store,
    () => settings,
    () => `tok${++t}`,
  );
  let seq = 0;
  const submit = (over: Partial<EngineJob> = {}): EngineJob => {
    seq++;
    const job: EngineJob = {
      ...newJob(seq, 1000 + seq, 1, 1, 5, null),
      type: 'x',
      ...over,
    };
    store.insert(job);
    engine.accept(job);
    return job;
  };
  const dispatch = (now: number, ...nodes: EngineNode[]) =>
    engine
      .dispatch(
        now,
        nodes,
        nodes.map((n) => ({ node: n, max: Infinity })),
      )
      .flatMap((e) => (e.kind === 'dispatch' ? e.jobs.map((j) => ({ ...j, node: e.nodeId })) : []));
  const report = (
    d: { job_id: string; attempt: number; token: string; node: string },
    exit = 0,
    now = 2000,
  ) =>
    engine.report(
      { job_id: d.job_id, attempt: d.attempt, token: d.token, worker_id: d.node },
      {
        ...{ worker_id: d.node, attempt: d.attempt, token: d.token, exit_code: exit },
        ...{ stdout: '', stderr: '', duration_ms: 1, executor: 'native', timed_out: false },
      },
      now,
    );
  return { store, engine, submit, dispatch, report };
}

const kinds = (effects: Effect[]) => effects.map((e) => e.kind);

describe('QueueEngine', () => {
  it('holds: only the running attempt, its token and its node hold the job', () => {
    const job = { status: 'running', attempts: 2, token: 't', worker_id: 'n' } as EngineJob;
    expect(holds(job, { job_id: 'j', attempt: 2, token: 't', worker_id: 'n' })).toBe(true);
    expect(holds(job, { job_id: 'j', attempt: 2, token: 't' })).toBe(true);
    expect(holds(job, { job_id: 'j', attempt: 1, token: 't', worker_id: 'n' })).toBe(false);
    expect(holds(job, { job_id: 'j', attempt: 2, token: 'u', worker_id: 'n' })).toBe(false);
    expect(holds(job, { job_id: 'j', attempt: 2, token: 't', worker_id: 'm' })).toBe(false);
    expect(holds({ ...job, status: 'queued' }, { job_id: 'j', attempt: 2, token: 't' })).toBe(
      false,
    );
    expect(holds(null, { job_id: 'j', attempt: 2, token: 't' })).toBe(false);
  });

  it('finishes a job once: the result is accepted, a repeat of it is refused', () => {
    const { store, submit, dispatch, report } = setup();
    submit();
    const [d] = dispatch(1500, node('n'));
    const first = report(d);
    expect(first.held && kinds(first.effects)).toEqual(['attempt', 'project', 'finished', 'event']);
    expect(store.size).toBe(0);
    expect(report(d)).toEqual({ held: false, current: null });
  });

  it('retries a failure with backoff, then fails for good when the budget is spent', () => {
    const { engine, submit, dispatch, report } = setup();
    submit({ max_retries: 1 });
    const [d1] = dispatch(1500, node('n'));
    const r1 = report(d1, 1, 2000);
    expect(r1.held && r1.status).toBe('retrying');
    engine.tick(2500);
    expect(dispatch(2500, node('n'))).toEqual([]); // not due before its backoff
    engine.tick(20_000);
    const [d2] = dispatch(20_000, node('n'));
    expect(d2.attempt).toBe(2);
    expect(report(d1, 0, 20_100).held).toBe(false); // the first attempt's late answer is stale
    const r2 = report(d2, 1, 20_200);
    expect(r2.held && r2.status).toBe('failed');
  });

  it('expires a lease: the attempt times out, its node is told to kill it, the job retries', () => {
    const { engine, submit, dispatch } = setup();
    submit({ timeout_sec: 5 });
    const [d] = dispatch(1000, node('n'));
    expect(engine.tick(6999)).toEqual([]);
    const effects = engine.tick(7000); // 5 s timeout + 1 s grace
    expect(kinds(effects)).toEqual(['kill', 'attempt', 'event', 'project']);
    expect(effects[0]).toMatchObject({ kind: 'kill', nodeId: 'n', lease: { job_id: d.job_id } });
  });

  it('takes back a lease two heartbeats in a row do not list, and kills leases it no longer holds', () => {
    const { engine, submit, dispatch } = setup();
    submit();
    const [d] = dispatch(1000, node('n'));
    const stale = { job_id: 'gone', attempt: 1, token: 'x' };
    expect(engine.heartbeat('n', [stale], 3000).kill).toEqual([stale]);
    const second = engine.heartbeat('n', [], 4000);
    expect(kinds(second.effects)).toEqual(['attempt', 'event', 'project']);
    const [again] = dispatch(4000, node('m'));
    expect(again).toMatchObject({ job_id: d.job_id, attempt: 2, node: 'm' });
  });

  it("returns a key's parked jobs by priority, not only by age", () => {
    const { submit, dispatch, report } = setup();
    submit({ concurrency_key: 'k', concurrency_limit: 1 });
    const [d] = dispatch(1500, node('n', 3));
    submit({ concurrency_key: 'k', concurrency_limit: 1, priority: 2 });
    submit({ concurrency_key: 'k', concurrency_limit: 1, priority: 0 });
    expect(dispatch(1600, node('n', 3))).toEqual([]); // both park: the key is busy
    report(d);
    expect(dispatch(2100, node('n', 3)).map((j) => j.job_id)).toEqual(['j3']);
  });

  it('passes a key on when the job it was handed to is cancelled before it starts', () => {
    // Found by the simulation: before, the key stayed idle with jobs parked on it.
    const { engine, submit, dispatch, report } = setup();
    const key = { concurrency_key: 'k', concurrency_limit: 1 };
    submit(key);
    const [d] = dispatch(1500, node('n', 1));
    submit(key);
    submit(key);
    expect(dispatch(1600, node('n', 2))).toEqual([]); // both park: the key is busy
    report(d); // j2 is handed the key
    engine.cancel('j2', 2100);
    expect(dispatch(2200, node('n', 2)).map((j) => j.job_id)).toEqual(['j3']);
  });
});
