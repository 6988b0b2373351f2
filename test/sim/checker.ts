import type { EngineJob } from '../../src/core/engine/job';
import type { MemoryStore } from './memory-store';

/** A job as submitted, for the order and key checks. */
export interface Submitted {
  id: string;
  seq: number;
  priority: number;
  createdAt: number;
  key: string | null;
  limit: number | null;
}

/**
 * The invariants of issue 14, checked from outside the engine: the checker sees only what a client
 * and the nodes see (dispatches, accepted results, finished jobs) and the stored rows.
 */
export class Checker {
  readonly violations: string[] = [];
  readonly submitted = new Map<string, Submitted>();
  /** The last attempt dispatched of each job, with its token. */
  private readonly latest = new Map<string, { attempt: number; token: string }>();
  readonly finished = new Map<string, string>();
  dispatches = 0;

  constructor(private readonly capacityOf: (nodeId: string) => number) {}

  private fail(message: string): void {
    if (this.violations.length < 20) this.violations.push(message);
  }

  dispatched(jobId: string, attempt: number, token: string): void {
    this.dispatches++;
    if (this.finished.has(jobId))
      this.fail(
        `job ${jobId} dispatched (attempt ${attempt}) after it ${this.finished.get(jobId)}`,
      );
    const last = this.latest.get(jobId);
    if (last && last.attempt >= attempt)
      this.fail(`job ${jobId} dispatched attempt ${attempt} after attempt ${last.attempt}`);
    this.latest.set(jobId, { attempt, token });
  }

  /** The engine accepted this result: only the latest attempt, with its token, may be accepted. */
  accepted(jobId: string, attempt: number, token: string): void {
    const last = this.latest.get(jobId);
    if (!last || last.attempt !== attempt || last.token !== token)
      this.fail(`job ${jobId}: result of attempt ${attempt} accepted, latest is ${last?.attempt}`);
  }

  ended(jobId: string, status: string): void {
    if (this.finished.has(jobId))
      this.fail(`job ${jobId} finished twice: ${this.finished.get(jobId)} then ${status}`);
    if (!this.submitted.has(jobId)) this.fail(`job ${jobId} finished but was never submitted`);
    this.finished.set(jobId, status);
  }

  /** After every step: the stored rows against the nodes' capacities and the concurrency keys. */
  rows(store: MemoryStore, leasesHeld: number): void {
    const perNode = new Map<string, number>();
    const perKey = new Map<string, number>();
    let running = 0;
    for (const j of store.scan()) {
      if (this.finished.has(j.id))
        this.fail(`job ${j.id} is ${j.status} after it ${this.finished.get(j.id)}`);
      if (j.status !== 'running') continue;
      running++;
      perNode.set(j.worker_id!, (perNode.get(j.worker_id!) ?? 0) + 1);
      if (j.concurrency_key)
        perKey.set(j.concurrency_key, (perKey.get(j.concurrency_key) ?? 0) + 1);
      if (j.concurrency_limit && perKey.get(j.concurrency_key!)! > j.concurrency_limit)
        this.fail(
          `concurrency key ${j.concurrency_key} runs ${perKey.get(j.concurrency_key!)} > ${j.concurrency_limit}`,
        );
    }
    for (const [node, n] of perNode)
      if (n > this.capacityOf(node))
        this.fail(
          `node ${node} holds ${n} jobs > its bound ${this.capacityOf(node)} (slots, or credit)`,
        );
    if (running !== leasesHeld)
      this.fail(`${running} running rows but ${leasesHeld} leases in memory`);
  }

  /**
   * One dispatch pass: the jobs it started, in order, and the rows after it. Without aging
   * (`starvationMs` 0) the pass starts jobs by priority then age then submission, and leaves no
   * startable job behind one it started, nor behind free capacity. With aging, a job queued longer
   * than `starvationMs` is never passed over by a higher-priority job that came after it.
   */
  pass(
    started: EngineJob[],
    after: EngineJob[],
    freeLeft: boolean,
    starvationMs: number,
    now: number,
    /** A queued job that must wait whatever the slots (its rate-limit window is full). */
    waits: (job: EngineJob) => boolean = () => false,
  ): void {
    const rank = (j: { priority: number; created_at: number; seq: number }) => [
      j.priority,
      j.created_at,
      j.seq,
    ];
    const less = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    const running = new Map<string, number>();
    for (const j of after)
      if (j.status === 'running' && j.concurrency_key)
        running.set(j.concurrency_key, (running.get(j.concurrency_key) ?? 0) + 1);
    // Of a key with room, only its first queued job in the key's order is in the ready queue; the
    // others wait parked behind it (src/core/concurrency.ts).
    const firstOfKey = new Map<string, EngineJob>();
    for (const j of after)
      if (j.status === 'queued' && j.concurrency_key) {
        const best = firstOfKey.get(j.concurrency_key);
        if (!best || less(rank(j), rank(best)) < 0) firstOfKey.set(j.concurrency_key, j);
      }
    const startable = after.filter(
      (j) =>
        j.status === 'queued' &&
        !waits(j) &&
        (!j.concurrency_key ||
          !j.concurrency_limit ||
          ((running.get(j.concurrency_key) ?? 0) < j.concurrency_limit &&
            firstOfKey.get(j.concurrency_key) === j)),
    );
    if (starvationMs === 0) {
      // Across tenants the order is by class only (fair share interleaves them); within a tenant,
      // by priority, then age, then submission.
      const lastOf = new Map<string, EngineJob>();
      for (let i = 1; i < started.length; i++)
        if (started[i - 1].priority > started[i].priority)
          this.fail(`pass started ${started[i - 1].id} before ${started[i].id} of a lower class`);
      for (const j of started) {
        const prev = lastOf.get(j.tenant);
        if (prev && less(rank(prev), rank(j)) > 0)
          this.fail(`pass started ${prev.id} before ${j.id} out of priority/FIFO order`);
        lastOf.set(j.tenant, j);
      }
      const last = started.at(-1);
      for (const j of startable) {
        const mine = lastOf.get(j.tenant);
        if (freeLeft)
          this.fail(
            `job ${j.id} (key ${j.concurrency_key}) left queued with a free slot and its key free`,
          );
        else if ((last && j.priority < last.priority) || (mine && less(rank(j), rank(mine)) < 0))
          this.fail(
            `job ${j.id} (p${j.priority} key ${j.concurrency_key}) left queued behind ${(mine ?? last)!.id}, which it precedes`,
          );
      }
      return;
    }
    for (const b of started)
      for (const a of startable)
        if (
          a.created_at < b.created_at &&
          a.priority > b.priority &&
          now - a.created_at > starvationMs
        )
          this.fail(
            `job ${a.id} waited ${now - a.created_at} ms > ${starvationMs} behind newer ${b.id}`,
          );
  }

  /**
   * Fair share (docs/protocol.md, dispatch order rule 2): among tenants with work of the pass's
   * first class, a tenant of weight w among a total W gets one of any 2 * ceil(W / w) + 1
   * consecutive dispatches of that class (smooth weighted round-robin keeps its credit within one
   * round of its share, and a round may carry over from the pass before).
   */
  fairShare(started: EngineJob[], before: EngineJob[], weights: Record<string, number>): void {
    const queued = before.filter((j) => j.status === 'queued');
    if (queued.length === 0 || started.length === 0) return;
    const cls = Math.min(...queued.map((j) => j.priority));
    const tenants = new Set(queued.filter((j) => j.priority === cls).map((j) => j.tenant));
    const total = [...tenants].reduce((sum, t) => sum + (weights[t] ?? 1), 0);
    const ofClass = started.filter((j) => j.priority === cls);
    for (const t of tenants) {
      const window = 2 * Math.ceil(total / (weights[t] ?? 1)) + 1;
      if (ofClass.length >= window && !ofClass.slice(0, window).some((j) => j.tenant === t))
        this.fail(`tenant ${t} got none of the first ${window} class-${cls} dispatches`);
    }
  }
}
