import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { QueueEngine } from '../../../src/core/engine/engine';
import type { EngineJob } from '../../../src/core/engine/job';
import { ReadyQueue, type ReadyEntry } from '../../../src/core/ready-queue';
import { MemoryStore } from '../../sim/memory-store';
import { newJob, pushNode, unitSettings } from '../../sim/jobs';

const settings = unitSettings;
const node = pushNode('n', 100);

function setup() {
  const store = new MemoryStore();
  let t = 0;
  const engine = new QueueEngine(
    store,
    () => settings,
    () => `tok${++t}`,
  );
  let seq = 0;
  const submit = (priority: number, over: Partial<EngineJob> = {}): EngineJob => {
    seq++;
    const job: EngineJob = { ...newJob(seq, 1000 + seq, priority, 1, 5, null), ...over };
    store.insert(job);
    engine.accept(job);
    return job;
  };
  const started = (now: number, max = Infinity) =>
    engine
      .dispatch(now, [node], [{ node, max }])
      .flatMap((e) => (e.kind === 'dispatch' ? e.jobs.map((j) => j.job_id) : []));
  return { engine, store, submit, started };
}

describe('QueueEngine.reprioritise', () => {
  it('moves queued jobs to their new place at once, without leaving a copy behind', () => {
    const { engine, submit, started } = setup();
    const low = [submit(2), submit(2), submit(2)];
    const normal = [submit(1), submit(1)];
    const out = engine.reprioritise([low[0].id, low[2].id], 0, 5000);
    expect(out.ids).toEqual([low[0].id, low[2].id]);
    expect(out.effects).toEqual([
      { kind: 'project', id: low[0].id, patch: { priority: 0, updatedAt: 5000 } },
      { kind: 'project', id: low[2].id, patch: { priority: 0, updatedAt: 5000 } },
    ]);
    expect(engine.queuedInMemory).toBe(5);
    expect(engine.peek(5000, 10).map((e) => e.priority)).toEqual([0, 0, 1, 1, 2]);
    // Each job starts once, in the new order; nothing is left in the queue afterwards.
    expect(started(6000)).toEqual([low[0], low[2], ...normal, low[1]].map((j) => j.id));
    expect(engine.queuedInMemory).toBe(0);
    expect(started(7000)).toEqual([]);
  });

  it('leaves running jobs alone and gives a scheduled job its new priority when it is queued', () => {
    const { engine, store, submit, started } = setup();
    const running = submit(1);
    expect(started(2000, 1)).toEqual([running.id]);
    const later = submit(2, { status: 'scheduled', next_attempt_at: 10_000 });
    const other = submit(1);
    const out = engine.reprioritise([running.id, later.id, 'unknown'], 0, 3000);
    expect(out.ids).toEqual([later.id]);
    expect(store.byId(running.id)!.priority).toBe(1);
    engine.tick(10_000);
    expect(started(10_000)).toEqual([later.id, other.id]);
  });

  it("lets a key's parked jobs be judged again when one of the key's jobs changes priority", () => {
    const { engine, submit, started } = setup();
    const key = { concurrency_key: 'k1', concurrency_limit: 1 };
    const [first, , last] = [submit(1, key), submit(1, key), submit(1, key)];
    expect(started(2000)).toEqual([first.id]); // the other two are parked behind the key
    expect(engine.parkedSize).toBe(2);
    engine.reprioritise([last.id], 0, 2500);
    expect(engine.parkedSize).toBe(0);
    expect(started(2600)).toEqual([]); // the key is still full: both parked again
    expect(engine.parkedSize).toBe(2);
  });

  it('counts a job already at the priority as applied, with nothing to write', () => {
    const { engine, submit } = setup();
    const job = submit(0);
    expect(engine.reprioritise([job.id], 0, 2000)).toEqual({ ids: [job.id], effects: [] });
    expect(engine.queuedInMemory).toBe(1);
  });
});

describe('ReadyQueue.remove', () => {
  const drain = (q: ReadyQueue) => {
    const out: number[] = [];
    for (let e: ReadyEntry | null; (e = q.pop(0));) out.push(e.seq);
    return out;
  };
  it('takes out exactly the given jobs and keeps the order of the rest', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ tenant: fc.constantFrom('a', 'b', 'c'), p: fc.nat(2), t: fc.nat(50) }),
          {
            maxLength: 80,
          },
        ),
        fc.array(fc.nat(), { maxLength: 40 }),
        (jobs, picks) => {
          const entries = jobs.map((j, i) => ({
            seq: i + 1,
            tenant: j.tenant,
            priority: j.p,
            createdAt: j.t,
          }));
          const make = () => {
            const q = new ReadyQueue({ maxStarvationMs: () => 0, weightOf: () => 1 });
            for (const e of entries) q.push(e);
            return q;
          };
          const gone = new Set(entries.length ? picks.map((k) => (k % entries.length) + 1) : []);
          const q = make();
          const removed = q.removeMany(entries.filter((e) => gone.has(e.seq)));
          expect(removed).toEqual(gone);
          expect(q.size).toBe(entries.length - gone.size);
          // Each tenant's jobs pop in the order the same queue built without them would give
          // (across tenants the round-robin's turn may differ: it depends on arrival order).
          const without = new ReadyQueue({ maxStarvationMs: () => 0, weightOf: () => 1 });
          for (const e of entries) if (!gone.has(e.seq)) without.push(e);
          const tenantOf = new Map(entries.map((e) => [e.seq, e.tenant]));
          const perTenant = (seqs: number[]) =>
            ['a', 'b', 'c'].map((t) => seqs.filter((s) => tenantOf.get(s) === t));
          expect(perTenant(drain(q))).toEqual(perTenant(drain(without)));
        },
      ),
    );
  });

  it('ignores a job that is not there (its tenant or its heap holds no such seq)', () => {
    const q = new ReadyQueue({ maxStarvationMs: () => 0, weightOf: () => 1 });
    q.push({ seq: 1, tenant: 'a', priority: 1, createdAt: 0 });
    expect(
      q.removeMany([
        { seq: 1, tenant: 'a', priority: 2 },
        { seq: 1, tenant: 'b', priority: 1 },
      ]).size,
    ).toBe(0);
    expect(q.size).toBe(1);
  });
});
