import { describe, expect, it } from 'vitest';
import { QueueEngine } from '../../../src/core/engine/engine';
import type { EngineJob } from '../../../src/core/engine/job';
import { SeqHeap } from '../../../src/core/heap';
import { MemoryStore } from '../../sim/memory-store';
import { newJob, pushNode, unitSettings } from '../../sim/jobs';

const settings = unitSettings;
const node = pushNode('n1', 1);

function setup() {
  const store = new MemoryStore();
  let t = 0;
  const boot = () => {
    const e = new QueueEngine(
      store,
      () => settings,
      () => `tok${++t}`,
    );
    const r = store.restoreInput();
    e.restore(r.queued, r.timed, r.running);
    return e;
  };
  let seq = 0;
  const ctx = {
    store,
    engine: boot(),
    restart: () => (ctx.engine = boot()),
    submit: (over: Partial<EngineJob> = {}): EngineJob => {
      seq++;
      const job: EngineJob = { ...newJob(seq, 1000 + seq, 1, 1, 5, null), ...over };
      store.insert(job);
      ctx.engine.accept(job);
      return job;
    },
    /** Ids in the order one pass over a node with room for all of them starts them. */
    order: (now: number) =>
      ctx.engine
        .dispatch(now, [node], [{ node: { ...node, capacity: 100 }, max: 100 }])
        .flatMap((e) => (e.kind === 'dispatch' ? e.jobs.map((j) => j.job_id) : [])),
    payloads: (now: number) =>
      ctx.engine
        .dispatch(now, [node], [{ node: { ...node, capacity: 100 }, max: 100 }])
        .flatMap((e) => (e.kind === 'dispatch' ? e.jobs.map((j) => j.payload) : [])),
  };
  return ctx;
}

describe('SeqHeap.remove', () => {
  it('takes any entry out and keeps the rest in order', () => {
    for (let victim = 0; victim < 40; victim++) {
      const h = new SeqHeap(4);
      const keys = Array.from({ length: 40 }, (_, i) => (i * 7919) % 41);
      keys.forEach((k, i) => h.push(k, i));
      expect(h.remove(victim)).toBe(true);
      expect(h.remove(victim)).toBe(false);
      const out: number[] = [];
      while (h.size) out.push(h.pop());
      const want = keys
        .map((k, i) => ({ k, i }))
        .filter((e) => e.i !== victim)
        .sort((a, b) => a.k - b.k || a.i - b.i)
        .map((e) => e.i);
      expect(out).toEqual(want);
    }
  });
});

describe('edit of a waiting job (PATCH /jobs/:id)', () => {
  it('a new priority moves a queued job ahead of the jobs it waited behind', () => {
    const w = setup();
    const a = w.submit({ id: 'a', priority: 2 });
    w.submit({ id: 'b', priority: 1 });
    const r = w.engine.edit(a.id, { priority: 0 }, 5000);
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.effects).toContainEqual({
        kind: 'project',
        id: 'a',
        patch: { priority: 0, updatedAt: 5000 },
      });
    expect(w.store.byId('a')!.priority).toBe(0);
    expect(w.order(5000)).toEqual(['a', 'b']);
  });

  it('the new order survives a restart of the object', () => {
    const w = setup();
    w.submit({ id: 'a', priority: 1 });
    w.submit({ id: 'b', priority: 1 });
    w.engine.edit('b', { priority: 0 }, 5000);
    w.restart();
    expect(w.order(5000)).toEqual(['b', 'a']);
  });

  it('a later run_at takes a queued job out of the queue until then', () => {
    const w = setup();
    w.submit({ id: 'a' });
    w.submit({ id: 'b' });
    const r = w.engine.edit('a', { runAt: 9000 }, 5000);
    expect(r.ok && r.effects.find((e) => e.kind === 'project')).toMatchObject({
      patch: { status: 'scheduled', nextAttemptAt: 9000 },
    });
    expect(w.order(5000)).toEqual(['b']);
    expect(w.engine.nextDeadline()).toBe(9000);
    w.engine.tick(9000);
    expect(w.order(9000)).toEqual(['a']);
  });

  it('an earlier run_at queues a scheduled job at once, a later one moves its timer', () => {
    const w = setup();
    w.submit({ id: 'a', status: 'scheduled', next_attempt_at: 60_000 });
    w.submit({ id: 'b', status: 'scheduled', next_attempt_at: 8000 });
    w.engine.edit('a', { runAt: 4000 }, 5000);
    expect(w.store.byId('a')!.status).toBe('queued');
    w.engine.edit('b', { runAt: 20_000 }, 5000);
    // b's old timer (8000) comes and goes without queueing it.
    w.engine.tick(8000);
    expect(w.order(8000)).toEqual(['a']);
    expect(w.store.byId('b')!.status).toBe('scheduled');
    w.restart();
    w.engine.tick(20_000);
    expect(w.order(20_000)).toEqual(['b']);
  });

  it('refuses a job that has started or is not here, with its status', () => {
    const w = setup();
    w.submit({ id: 'a' });
    w.order(5000);
    expect(w.engine.edit('a', { priority: 0 }, 5000)).toEqual({ ok: false, status: 'running' });
    expect(w.engine.edit('zz', { priority: 0 }, 5000)).toEqual({ ok: false, status: null });
    w.submit({ id: 'r', status: 'retrying', next_attempt_at: 9000 });
    expect(w.engine.edit('r', { priority: 0 }, 5000)).toEqual({ ok: false, status: 'retrying' });
  });

  it("a new priority counts among its concurrency key's parked jobs at once", () => {
    const w = setup();
    const key = { concurrency_key: 'k1', concurrency_limit: 1 };
    for (const id of ['a', 'b', 'c']) w.submit({ id, ...key });
    expect(w.order(5000)).toEqual(['a']); // b and c are parked behind the key, b first
    w.engine.edit('c', { priority: 0 }, 5100);
    expect(w.order(5200)).toEqual([]); // the key is still full: parked again, by the new priority
    const a = w.store.byId('a')!;
    const claim = { job_id: 'a', attempt: a.attempts, token: a.token!, worker_id: node.id };
    const report = { worker_id: node.id, attempt: a.attempts, token: a.token!, exit_code: 0 };
    const io = {
      stdout: '',
      stderr: '',
      duration_ms: 1,
      executor: 'native' as const,
      timed_out: false,
    };
    w.engine.report(claim, { ...report, ...io }, 5300);
    expect(w.order(5400)).toEqual(['c']);
  });

  it('a waiting job keeps its new run_at for when its dependencies are done', () => {
    const w = setup();
    w.submit({ id: 'a', status: 'waiting' });
    w.engine.edit('a', { runAt: 9000, priority: 0 }, 5000);
    const job = w.store.byId('a')!;
    expect(job).toMatchObject({ status: 'waiting', next_attempt_at: 9000, priority: 0 });
    w.engine.wake(job, 6000);
    expect(w.store.byId('a')!.status).toBe('scheduled');
  });
});

describe('debounce', () => {
  it('a later submission replaces the payload and moves the run to its own delay', () => {
    const w = setup();
    const first = w.submit({
      id: 'd',
      status: 'scheduled',
      next_attempt_at: 3000,
      payload: '{"v":1}',
    });
    const fx = w.engine.debounce(
      w.store.byId(first.id),
      { payload: '{"v":2}', payload_blob: null, runAt: 4500 },
      2500,
    );
    expect(fx).not.toBeNull();
    expect(w.store.byId('d')).toMatchObject({ payload: '{"v":2}', next_attempt_at: 4500 });
    // The first submission's time passes: nothing runs.
    w.engine.tick(3000);
    expect(w.payloads(3000)).toEqual([]);
    w.restart();
    w.engine.tick(4500);
    expect(w.payloads(4500)).toEqual([{ v: 2 }]);
  });

  it('a job that is due, queued or started takes no more submissions: the caller makes a new one', () => {
    const w = setup();
    const input = { payload: '{"v":9}', payload_blob: null, runAt: 9000 };
    w.submit({ id: 'due', status: 'scheduled', next_attempt_at: 3000 });
    expect(w.engine.debounce(w.store.byId('due'), input, 3000)).toBeNull();
    w.engine.tick(3000);
    expect(w.engine.debounce(w.store.byId('due'), input, 3000)).toBeNull();
    w.order(3000);
    expect(w.store.byId('due')!.status).toBe('running');
    expect(w.engine.debounce(w.store.byId('due'), input, 3000)).toBeNull();
    expect(w.engine.debounce(null, input, 3000)).toBeNull();
  });
});
