import { isPermanentExit, transition } from '../job-state';
import type { ResultReport } from '../../protocol/dispatch';
import type { Lease } from '../../protocol/worker';
import { holds, type Claim, type EngineJob, type EngineNode } from './job';
import { WaitingEdits } from './waiting-edits';
import { planDispatch, type Offer } from './dispatch';
import { countStart, startBudget } from './flow';
import { describeFailure, storedResult, succeeded } from './results';
import type { DispatchEffect, Effect } from './effects';

/**
 * The decisions of one queue, without I/O: which job runs where, what a result, a timeout, a lost
 * node or a cancel does to a job, when a retry is due. State is the job rows (through `JobStore`,
 * synchronous) and what is rebuilt from them on start: the ready queue, timers, leases and node
 * slots, concurrency keys. Each verb changes that state in one synchronous turn and returns the
 * effects the shell must carry out, in order (effects.ts). Time and fencing tokens come from the
 * caller, so a seeded simulation (test/sim) replays a run exactly.
 */
export class QueueEngine extends WaitingEdits {
  // ---------------------------------------------------------------- dispatch

  /** One dispatch pass over the nodes offered (live, active, not backing off; see dispatch.ts). */
  dispatch(now: number, live: EngineNode[], offers: Offer[]): Effect[] {
    // One dispatch effect per node, found by id: a pass may start a thousand jobs.
    const groups = new Map<string, DispatchEffect>();
    this.wakeRateParked(now);
    planDispatch(
      {
        ready: this.ready,
        gate: this.gate,
        rates: this.rates,
        budget: startBudget(this.controls, this.leases.size),
        unroutable: this.unroutable,
        rr: this.rr,
        job: (seq) => this.store.bySeq(seq),
        running: (id) => this.leases.running(id),
        start: (job, node) => this.start(job, node, now, groups),
      },
      now,
      live,
      offers,
    );
    return this.take();
  }

  private start(
    job: EngineJob,
    node: EngineNode,
    now: number,
    groups: Map<string, DispatchEffect>,
  ): void {
    const { queue, leaseGraceSec } = this.settings();
    this.observer.dispatched(now - (job.next_attempt_at ?? job.created_at), job.priority, now);
    job.status = transition(job.status, 'running');
    job.attempts++;
    job.token = this.newToken();
    job.worker_id = node.id;
    job.started_at = now;
    // A lease beyond the node's slots (a pull node's prefetch) first waits for the jobs ahead of it.
    const rounds = Math.ceil((this.leases.running(node.id) + 1 - node.capacity) / node.capacity);
    const waits = Math.max(0, rounds) * job.timeout_sec;
    job.lease_deadline = now + (job.timeout_sec + waits + leaseGraceSec) * 1000;
    this.store.save(job);
    this.leases.hold(job);
    this.gate.started(job.concurrency_key);
    countStart(this.rates, this.store, job, now);
    this.project(job.id, {
      status: 'running',
      attempts: job.attempts,
      workerId: node.id,
      startedAt: now,
      nextAttemptAt: null,
      updatedAt: now,
    });
    let group = groups.get(node.id);
    if (!group) {
      // Behind the projections of the jobs it carries: the shell persists them before it sends.
      groups.set(node.id, (group = { kind: 'dispatch', nodeId: node.id, jobs: [] }));
      this.fx.push(group);
    }
    group.jobs.push({
      job_id: job.id,
      attempt: job.attempts,
      token: job.token,
      queue,
      type: job.type,
      payload: JSON.parse(job.payload),
      timeout_sec: job.timeout_sec,
      executor: job.executor,
      ...(job.payload_blob ? { payload_blob: job.payload_blob } : {}),
      ...(job.traceparent ? { traceparent: job.traceparent } : {}),
      ...(job.tracestate ? { tracestate: job.tracestate } : {}),
    });
  }

  // ---------------------------------------------------------------- attempts

  /** A node's result. Refused (`held: false`) unless the claim holds the job (job.ts `holds`). */
  report(
    claim: Claim & { worker_id: string },
    report: ResultReport,
    now: number,
  ): { held: false; current: number | null } | { held: true; status: string; effects: Effect[] } {
    const job = this.store.byId(claim.job_id);
    const current = job?.attempts ?? null;
    if (!holds(job, claim)) return { held: false, current };
    const { result, text } = storedResult(report);
    if (succeeded(report)) {
      this.ended(job, 'succeeded', null, report);
      job.status = transition(job.status, 'succeeded');
      this.release(job);
      this.store.delete(job.seq);
      this.project(job.id, {
        status: 'succeeded',
        finishedAt: now,
        updatedAt: now,
        result: text,
        error: null,
        workerId: claim.worker_id,
      });
      this.fx.push({ kind: 'finished', job, status: 'succeeded', result, error: null });
      this.observer.completed(now - (job.started_at ?? now), now);
      // Per job, so debug: at info, workerd's console was the largest CPU cost of a no-op job.
      this.event('job_completed', job, {
        level: 'debug',
        worker_id: claim.worker_id,
        executor: report.executor,
        duration_ms: report.duration_ms,
      });
    } else {
      const error = describeFailure(report, job.timeout_sec);
      this.ended(job, report.timed_out ? 'timed_out' : 'failed', error, report);
      this.fail(job, error, isPermanentExit(report.exit_code) && !report.timed_out, now, text);
    }
    return { held: true, status: job.status, effects: this.take() };
  }

  /** Whether a claim holds its job (progress reports, and callers that only need to know). */
  held(claim: Claim): boolean {
    return holds(this.store.byId(claim.job_id), claim);
  }

  /** Cancels a job that is not terminal; a running one is killed on its node. Null if not here. */
  cancel(id: string, now: number): { previous: string; effects: Effect[] } | null {
    const job = this.store.byId(id);
    if (!job) return null;
    const previous = job.status;
    if (previous === 'running') {
      this.ended(job, 'cancelled', 'cancelled');
      this.kill(job);
    }
    job.status = transition(job.status, 'cancelled');
    this.release(job);
    this.store.delete(job.seq);
    this.observer.cancelled(now);
    this.event('job_cancelled', job, { previous_status: previous, worker_id: job.worker_id });
    this.project(job.id, {
      status: 'cancelled',
      finishedAt: now,
      updatedAt: now,
      nextAttemptAt: null,
      error: 'cancelled',
    });
    this.fx.push({ kind: 'finished', job, status: 'cancelled', result: null, error: 'cancelled' });
    return { previous, effects: this.take() };
  }

  /** Dispatched jobs a node did not take (busy, declined): back in their place, at no cost. */
  handBack(claims: Claim[], reason: string, now: number): Effect[] {
    for (const c of claims) {
      const job = this.store.byId(c.job_id);
      if (!holds(job, c)) continue;
      this.ended(job, 'lease_lost', reason);
      this.requeue(job, reason, now);
    }
    return this.take();
  }

  /** A dispatch that failed outright: each attempt it carried failed (the retry budget applies). */
  failDispatch(claims: Claim[], error: string, now: number): Effect[] {
    for (const c of claims) {
      const job = this.store.byId(c.job_id);
      if (!holds(job, c)) continue;
      this.ended(job, 'failed', error);
      this.fail(job, error, false, now, null);
    }
    return this.take();
  }

  /**
   * Every job a node holds goes back to the queue (it left, restarted or went silent); `leaseLost`
   * counts it against the job's lease-loss bound. `forget` also drops the node's slots.
   */
  handBackAll(
    nodeId: string,
    reason: string,
    leaseLost: boolean,
    now: number,
  ): { count: number; effects: Effect[] } {
    let count = 0;
    for (const job of this.store.runningOf(nodeId)) {
      this.ended(job, 'node_gone', reason);
      if (leaseLost) this.loseLease(job, reason, now);
      else this.requeue(job, reason, now);
      count++;
    }
    return { count, effects: this.take() };
  }

  /**
   * A heartbeat: the leases it lists that no longer hold their job are to be killed; a job we think
   * the node runs but that two heartbeats in a row do not list, well after its dispatch, was lost
   * (its dispatch never arrived, or the node forgot it) and goes back to the queue.
   */
  heartbeat(nodeId: string, listed: Lease[], now: number): { kill: Lease[]; effects: Effect[] } {
    const kill = listed.filter(
      (l) => !holds(this.store.byId(l.job_id), { ...l, worker_id: nodeId }),
    );
    const held = new Set(listed.map((l) => `${l.job_id}#${l.attempt}`));
    for (const job of this.store.runningOf(nodeId)) {
      const key = `${job.id}#${job.attempts}`;
      if (held.has(key) || now - (job.started_at ?? now) < this.settings().dispatchTimeoutMs) {
        this.missedBeats.delete(key);
        continue;
      }
      const missed = (this.missedBeats.get(key) ?? 0) + 1;
      this.missedBeats.set(key, missed);
      if (missed < 2) continue;
      this.missedBeats.delete(key);
      const reason = `node ${nodeId} no longer holds attempt ${job.attempts}`;
      this.ended(job, 'lease_lost', reason);
      this.loseLease(job, reason, now);
    }
    return { kill, effects: this.take() };
  }

  // ---------------------------------------------------------------- time

  /** Everything due at `now`: expired leases fail their attempt, due timers queue their job. */
  tick(now: number): Effect[] {
    this.wakeRateParked(now);
    for (let seq = this.leases.popDue(now); seq !== -1; seq = this.leases.popDue(now)) {
      const job = this.store.bySeq(seq);
      if (
        !job ||
        job.status !== 'running' ||
        job.lease_deadline === null ||
        job.lease_deadline > now
      )
        continue;
      this.kill(job);
      const error = `timed out: no result ${job.timeout_sec}s after dispatch to ${job.worker_id}`;
      this.ended(job, 'timed_out', error);
      this.fail(job, error, false, now, null);
    }
    while (this.timers.size > 0 && this.timers.peekKey() <= now) {
      const job = this.store.bySeq(this.timers.pop());
      if (
        !job ||
        (job.status !== 'scheduled' && job.status !== 'retrying') ||
        (job.next_attempt_at ?? 0) > now
      )
        continue;
      job.status = transition(job.status, 'queued');
      job.next_attempt_at = null;
      this.store.save(job);
      this.enqueue(job);
      this.project(job.id, { status: 'queued', nextAttemptAt: null, updatedAt: now });
    }
    return this.take();
  }

  // ---------------------------------------------------------------- dependencies

  /** Every dependency of a waiting job succeeded: it joins the queue, or its timer if run_at is ahead. */
  wake(job: EngineJob, now: number): Effect[] {
    if (job.next_attempt_at !== null && job.next_attempt_at > now) {
      job.status = transition(job.status, 'scheduled');
      this.store.save(job);
      this.timers.push(job.next_attempt_at, job.seq);
      this.project(job.id, {
        status: 'scheduled',
        nextAttemptAt: job.next_attempt_at,
        updatedAt: now,
      });
      return this.take();
    }
    job.status = transition(job.status, 'queued');
    job.next_attempt_at = null;
    this.store.save(job);
    this.enqueue(job);
    this.event('job_released', job, {});
    this.project(job.id, { status: 'queued', nextAttemptAt: null, updatedAt: now });
    return this.take();
  }
}
