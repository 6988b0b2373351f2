import { SeqHeap } from '../heap';
import { ReadyQueue, type ReadyEntry } from '../ready-queue';
import { ConcurrencyGate } from '../concurrency';
import { RateGate } from '../rate-gate';
import { NO_CONTROLS, wakeParked, type FlowRestore, type QueueControls } from './flow';
import { retryDelayMs, type BackoffPolicy } from '../backoff';
import { afterFailure, transition } from '../job-state';
import type { ResultReport } from '../../protocol/dispatch';
import type { JobResult, RetryBackoff } from '../../protocol/job';
import type { AttemptEndReason } from '../../protocol/attempt';
import type { EngineJob } from './job';
import { LeaseBook } from './lease-book';
import {
  quietObserver,
  type Effect,
  type EngineObserver,
  type EngineSettings,
  type JobStore,
} from './effects';

/**
 * The state of one queue's engine (engine.ts) and the transitions every verb shares: a failed
 * attempt's retry or failure, a lost lease, a requeue, the release of a slot and of its concurrency
 * key. Rebuilt from the stored jobs on start (`restore`).
 */
export class EngineState {
  protected readonly ready: ReadyQueue;
  protected readonly gate = new ConcurrencyGate();
  /** Rate limits per key: their windows and the jobs parked on them (rate-gate.ts). */
  readonly rates = new RateGate();
  /** The operator's pause and cap (flow.ts): the shell sets them as it stores them. */
  controls: QueueControls = NO_CONTROLS;
  protected readonly timers = new SeqHeap();
  readonly leases = new LeaseBook();
  /** Queued jobs no live node can run, with the reason; retried when a node registers. */
  protected readonly unroutable = new Map<number, string>();
  /** `job#attempt` -> heartbeats in a row that did not list it. */
  protected readonly missedBeats = new Map<string, number>();
  protected readonly rr = { next: 0 };
  protected fx: Effect[] = [];

  constructor(
    protected readonly store: JobStore,
    protected readonly settings: () => EngineSettings,
    protected readonly newToken: () => string,
    protected readonly observer: EngineObserver = quietObserver,
  ) {
    this.ready = new ReadyQueue({
      maxStarvationMs: () => this.settings().maxStarvationMs,
      weightOf: (tenant) => this.settings().weightOf(tenant),
    });
  }

  /** Rebuilds the in-memory state from the stored jobs (what makes a restart lose nothing). */
  restore(
    queued: Iterable<{ seq: number; tenant: string; priority: number; created_at: number }>,
    timed: Iterable<{ seq: number; key: number }>,
    running: Iterable<EngineJob>,
    flow: FlowRestore = {},
  ): void {
    this.rates.restore(flow.starts ?? []);
    this.controls = flow.controls ?? NO_CONTROLS;
    for (const r of queued)
      this.ready.push({
        seq: r.seq,
        tenant: r.tenant,
        priority: r.priority,
        createdAt: r.created_at,
      });
    for (const { seq, key } of timed) this.timers.push(key, seq);
    for (const job of running) {
      this.leases.hold(job);
      this.gate.started(job.concurrency_key);
    }
  }

  /** A job the shell stored (submitted, or imported by the cron): it waits in its queue or timer. */
  accept(job: EngineJob): void {
    if (job.status === 'queued') this.enqueue(job);
    else if (job.status === 'scheduled' || job.status === 'retrying')
      this.timers.push(job.next_attempt_at!, job.seq);
  }

  /** A node registered: jobs no node could run may find one now. */
  retryUnroutable(): void {
    for (const seq of this.unroutable.keys()) {
      const job = this.store.bySeq(seq);
      if (job && job.status === 'queued') this.enqueue(job);
    }
    this.unroutable.clear();
  }

  forgetNode(nodeId: string): void {
    this.leases.forgetNode(nodeId);
  }

  /** The earliest deadline among timers and leases (Infinity when none): the alarm's next time. */
  nextDeadline(): number {
    return Math.min(this.timers.peekKey(), this.leases.nextDeadline(), this.rates.nextWake());
  }

  // ---------------------------------------------------------------- views

  /** The head of the queue in dispatch order (seqs), without taking it. */
  peek(now: number, limit: number): ReadyEntry[] {
    return this.ready.peek(now, limit);
  }

  get queuedInMemory(): number {
    return this.ready.size;
  }

  unroutableReasons(): Iterable<[number, string]> {
    return this.unroutable.entries();
  }

  get parkedSize(): number {
    return this.gate.parkedSize;
  }

  parkedSeqs(): Iterable<number> {
    return this.gate.parkedSeqs();
  }

  /** Rate-limited jobs whose key has room again go back to the ready queue. */
  protected wakeRateParked(now: number): void {
    wakeParked(
      this.rates,
      now,
      (seq) => this.store.bySeq(seq)?.status === 'queued',
      (seq) => this.enqueue(this.store.bySeq(seq)!),
    );
  }

  // ---------------------------------------------------------------- transitions

  /** A failed attempt: back off and retry while the budget lasts, else the job fails for good. */
  protected fail(
    job: EngineJob,
    error: string,
    permanent: boolean,
    now: number,
    resultText: string | null,
  ): void {
    const outcome = afterFailure(job.failures, job.max_retries, permanent);
    job.failures = outcome.failures;
    job.last_error = error.slice(0, 2000);
    this.release(job);
    const patch = { updatedAt: now, error: job.last_error, result: resultText };
    if (outcome.next === 'retrying') {
      job.status = transition(job.status, 'retrying');
      job.next_attempt_at = now + retryDelayMs(job.failures, this.backoff(job));
      this.store.save(job);
      this.timers.push(job.next_attempt_at, job.seq);
      this.observer.retried(now);
      this.event('job_retry_scheduled', job, {
        worker_id: job.worker_id,
        failures: job.failures,
        next_attempt_at: job.next_attempt_at,
        error: job.last_error,
      });
      this.project(job.id, { ...patch, status: 'retrying', nextAttemptAt: job.next_attempt_at });
      return;
    }
    job.status = transition(job.status, 'failed');
    this.store.delete(job.seq);
    this.observer.failed(now);
    this.event('job_failed', job, { worker_id: job.worker_id, error: job.last_error });
    this.project(job.id, { ...patch, status: 'failed', finishedAt: now, nextAttemptAt: null });
    // After the failure itself, so the callback and dependents are written behind it.
    const result = resultText ? (JSON.parse(resultText) as JobResult) : null;
    this.fx.push({ kind: 'finished', job, status: 'failed', result, error: job.last_error });
  }

  /** The job's node lost it: back to the queue at no retry cost, up to MAX_LEASE_LOSSES times. */
  protected loseLease(job: EngineJob, reason: string, now: number): void {
    if (job.lease_losses + 1 >= this.settings().maxLeaseLosses)
      return this.fail(
        job,
        `lost its lease ${job.lease_losses + 1} times (${reason})`,
        true,
        now,
        null,
      );
    job.lease_losses++;
    this.requeue(job, reason, now);
  }

  protected requeue(job: EngineJob, reason: string, now: number): void {
    job.status = transition(job.status, 'queued');
    this.release(job);
    job.last_error = reason;
    this.store.save(job);
    this.enqueue(job);
    this.observer.requeued(now);
    this.event('job_requeued', job, { worker_id: job.worker_id, reason });
    this.project(job.id, { status: 'queued', updatedAt: now, error: reason });
  }

  /** Frees the node slot and voids the attempt's token, so a late answer from it is refused. */
  protected release(job: EngineJob): void {
    if (job.token !== null) {
      // It was running: free its node slot and its concurrency-key slot.
      this.leases.drop(job);
      this.gate.finished(job.concurrency_key);
    }
    this.unparkNext(job);
    job.token = null;
    job.lease_deadline = null;
  }

  /**
   * The job's key may have room now: its oldest parked job goes back to the ready queue. Also when
   * the job leaves without having run (cancelled while queued): it may have been the one a finished
   * job unparked, and without this the jobs parked behind it would wait with their key idle (found
   * by the simulation, test/sim).
   */
  protected unparkNext(job: EngineJob): void {
    const key = job.concurrency_key;
    if (!key || !this.gate.canStart(key, job.concurrency_limit)) return;
    for (let seq = this.gate.unpark(key); seq !== -1; seq = this.gate.unpark(key)) {
      const parked = this.store.bySeq(seq);
      if (parked && parked.status === 'queued') {
        this.enqueue(parked);
        return;
      }
    }
  }

  /** The history row of the attempt that holds `job`, before the transition that ends it. */
  protected ended(
    job: EngineJob,
    reason: AttemptEndReason,
    error: string | null,
    report?: ResultReport,
  ): void {
    this.fx.push({
      kind: 'attempt',
      jobId: job.id,
      attempt: job.attempts,
      workerId: job.worker_id,
      startedAt: job.started_at,
      reason,
      error: error?.slice(0, 2000) ?? null,
      report,
    });
  }

  protected kill(job: EngineJob): void {
    if (job.worker_id && job.token)
      this.fx.push({
        kind: 'kill',
        nodeId: job.worker_id,
        lease: { job_id: job.id, attempt: job.attempts, token: job.token },
      });
  }

  protected project(id: string, patch: Extract<Effect, { kind: 'project' }>['patch']): void {
    this.fx.push({ kind: 'project', id, patch });
  }

  protected event(event: string, job: EngineJob, fields: Record<string, unknown>): void {
    this.fx.push({
      kind: 'event',
      line: {
        event,
        job_id: job.id,
        attempt: job.attempts,
        ...fields,
        queue: this.settings().queue,
      },
    });
  }

  protected enqueue(job: EngineJob): void {
    this.ready.push({
      seq: job.seq,
      tenant: job.tenant,
      priority: job.priority,
      createdAt: job.created_at,
    });
  }

  /** The job's own retry policy (`backoff` on submit) over the queue's defaults. */
  protected backoff(job: EngineJob): BackoffPolicy {
    const own = job.backoff ? (JSON.parse(job.backoff) as RetryBackoff) : null;
    const base = this.settings().backoff;
    return {
      type: own?.type ?? base.type,
      baseSec: own?.base_sec ?? base.baseSec,
      maxSec: own?.max_sec ?? base.maxSec,
      jitter: own?.jitter ?? base.jitter,
    };
  }

  protected take(): Effect[] {
    const out = this.fx;
    this.fx = [];
    return out;
  }
}
