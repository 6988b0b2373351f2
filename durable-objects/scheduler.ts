import { DurableObject } from 'cloudflare:workers';
import { type Env } from '../src/env';
import { updateJob, appendLogs, type Stmt } from '../src/db/write-jobs';
import type { JobRow } from '../src/db/schema';
import type { DispatchedJob, ProgressReport, ResultReport } from '../src/protocol/dispatch';
import type {
  HeartbeatAnswer,
  Lease,
  WorkerHeartbeat,
  WorkerRegister,
  WorkerView,
} from '../src/protocol/worker';
import { log } from '../src/log';
import { type TelemetrySnapshot } from './telemetry';
import { announceThroughCourier } from './courier';
import { retireVerdict } from './retirement';
import { REVOKED_KEY_MEMORY_MS } from '../src/core/node-key';
import type {
  LeaseTerms,
  NewJob,
  NodeKeyRef,
  Outcome,
  QueueStats,
} from '../src/protocol/queue-object';
import type { QueueStanding } from '../src/protocol/credits';
import { exchange, type ExchangeTerms } from './exchange-desk';
import { QueueShell } from './queue-shell';
import { submit } from './submission';
import { jobRow, peek, states, stats } from './queue-views';
import {
  deregisterWorker,
  heartbeat,
  listWorkers,
  registerWorker,
  revokeNodeKey,
} from './nodes-desk';
import { declineLeases, endLease, endPull, lease } from './pull-desk';
import { deliverPulled, killOnNode, send } from './node-links';
import { finished } from './settle';
import { editJob } from './job-edit';
import type { WaitingChange } from '../src/core/engine/waiting-edits';
import { reconcile } from './reconcile';
import type { ResultVerdict } from '../src/protocol/results';
import type { QueueControls } from '../src/core/engine/flow';
import { controlsOf, setControls } from './queue-controls';
import type { BulkPageAnswer, BulkPageRequest } from '../src/protocol/bulk';
import { bulkAct } from './bulk-desk';

/**
 * The Scheduler Durable Object: one per queue (`idFromName(queue)`), the single writer of its jobs'
 * state. Its decisions are the engine's (src/core/engine); what it shares across requests (stores,
 * outbox, dispatch pass, alarm) is the shell (queue-shell.ts); each request is delegated to the
 * module of its concern (submission, nodes-desk, pull-desk, queue-views, reconcile). One alarm is
 * re-armed after every change to the earliest deadline among timers, leases, heartbeats, callbacks.
 */
export class Scheduler extends DurableObject<Env> {
  /** Shared state and duties of the queue's object (queue-shell.ts); the methods here delegate to it. */
  private readonly s: QueueShell;
  private alarmFailedOnce = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.s = new QueueShell(ctx, env);
    const s = this.s;
    s.hooks = {
      send: (node, jobs) => send(s, node, jobs),
      deliverPulled: (node, jobs) => deliverPulled(s, node, jobs),
      endPull: (workerId) => endPull(s, workerId),
      kill: (nodeId, lease) => killOnNode(s, nodeId, lease),
      finished: (job, status, result, error, now) => finished(s, job, status, result, error, now),
    };
    void ctx.blockConcurrencyWhile(async () => this.s.load());
  }

  async submit(
    queue: string,
    jobs: NewJob[],
    fieldPrefix = '',
  ): Promise<Outcome<{ jobs: JobRow[]; created: boolean; debounced?: boolean }>> {
    return submit(this.s, queue, jobs, fieldPrefix);
  }

  async states(queue: string, ids: string[]): Promise<Record<string, string>> {
    return states(this.s, queue, ids);
  }

  async peek(
    queue: string,
    limit: number,
    tenant?: string,
  ): Promise<{ id: string; priority: number; type: string; tenant: string; created_at: number }[]> {
    return peek(this.s, queue, limit, tenant);
  }

  async jobRow(queue: string, id: string, tenant: string | null): Promise<JobRow | null> {
    return jobRow(this.s, queue, id, tenant);
  }

  async stats(queue: string, tenant?: string): Promise<QueueStats> {
    return stats(this.s, queue, tenant);
  }

  /** The operator's pause and cap (queue-controls.ts). */
  async controls(queue: string, change?: Partial<QueueControls>): Promise<QueueControls> {
    return change ? setControls(this.s, queue, change) : controlsOf(this.s, queue);
  }

  async registerWorker(
    queue: string,
    reg: WorkerRegister,
    key: NodeKeyRef | null = null,
  ): Promise<Outcome<{ worker: WorkerView }>> {
    return registerWorker(this.s, queue, reg, key);
  }

  async heartbeat(
    queue: string,
    workerId: string,
    hb: WorkerHeartbeat,
    credit?: number,
  ): Promise<Outcome<{ answer: HeartbeatAnswer }>> {
    return heartbeat(this.s, queue, workerId, hb, credit);
  }

  async deregisterWorker(queue: string, workerId: string): Promise<Outcome<{ requeued: number }>> {
    return deregisterWorker(this.s, queue, workerId);
  }

  async revokeNodeKey(
    queue: string,
    keyId: string,
  ): Promise<{ deregistered: string[]; requeued: number }> {
    return revokeNodeKey(this.s, queue, keyId);
  }

  async listWorkers(queue: string): Promise<WorkerView[]> {
    return listWorkers(this.s, queue);
  }

  async lease(
    queue: string,
    workerId: string,
    req: LeaseTerms,
  ): Promise<Outcome<{ jobs: DispatchedJob[]; capacity: number; standing?: QueueStanding }>> {
    return lease(this.s, queue, workerId, req);
  }

  async endLease(queue: string, workerId: string, requestId: string): Promise<void> {
    return endLease(this.s, queue, workerId, requestId);
  }

  async declineLeases(
    queue: string,
    workerId: string,
    leases: Lease[],
  ): Promise<{ requeued: number }> {
    return declineLeases(this.s, queue, workerId, leases);
  }

  async reconcile(queue: string): Promise<{ imported: number }> {
    return reconcile(this.s, queue);
  }

  /** Cancels a job that is not terminal. A running job's node is told to kill it. */
  async cancel(queue: string, jobId: string): Promise<Outcome<{ previous: string }>> {
    this.s.bind(queue);
    const now = Date.now();
    const done = this.s.engine.cancel(jobId, now);
    if (!done)
      return {
        ok: false,
        status: 409,
        code: 'not_active',
        message: 'the job is not active in its queue',
      };
    await this.s.persist(this.s.apply(done.effects, now));
    this.s.kick();
    await this.s.armAlarm();
    return { ok: true, previous: done.previous };
  }

  /** `PATCH /jobs/:id`: a new priority or due time for a job that has not started (job-edit.ts). */
  async edit(queue: string, jobId: string, change: WaitingChange) {
    return editJob(this.s, queue, jobId, change);
  }

  /** One page of a bulk action's jobs in this queue: cancel, retry or priority (bulk-desk.ts). */
  async bulkAct(queue: string, req: BulkPageRequest): Promise<BulkPageAnswer> {
    return bulkAct(this.s, queue, req);
  }

  async reportResult(
    queue: string,
    jobId: string,
    report: ResultReport,
    awaitD1 = true,
  ): Promise<Outcome<{ status: string }>> {
    this.s.bind(queue);
    const now = Date.now();
    const verdict = this.s.engine.report({ ...report, job_id: jobId }, report, now);
    if (!verdict.held) {
      log({
        event: 'result_refused',
        job_id: jobId,
        worker_id: report.worker_id,
        attempt: report.attempt,
        current_attempt: verdict.current,
      });
      return {
        ok: false,
        status: 409,
        code: 'stale_attempt',
        message:
          'this attempt no longer holds the job (it was re-dispatched, timed out, cancelled or already finished)',
        details: { attempt: report.attempt, current_attempt: verdict.current },
      };
    }
    const stmts = this.s.apply(verdict.effects, now);
    // The slot is free in this object's state already: dispatch the next job while D1 commits.
    this.s.kick();
    // An exchange (version 3) answers once this object has committed: its leases must not wait for D1.
    if (awaitD1) await this.s.persist(stmts);
    else void this.s.persist(stmts);
    await this.s.armAlarm();
    return { ok: true, status: verdict.status };
  }

  /** Progress and log lines from the attempt that holds the job; anything else is stale (409). */
  async reportProgress(
    queue: string,
    jobId: string,
    report: ProgressReport,
  ): Promise<Outcome<{ logged: number }>> {
    this.s.bind(queue);
    if (!this.s.engine.held({ ...report, job_id: jobId })) {
      const job = this.s.store.jobById(jobId);
      return {
        ok: false,
        status: 409,
        code: 'stale_attempt',
        message: 'this attempt no longer holds the job',
        details: { attempt: report.attempt, current_attempt: job?.attempts ?? null },
      };
    }
    const now = Date.now();
    const stmts: Stmt[] = [];
    if (report.percent !== undefined || report.message !== undefined) {
      const progress = {
        percent: report.percent ?? null,
        message: report.message ?? null,
        attempt: report.attempt,
        at: now,
      };
      stmts.push(
        updateJob(this.s.db, jobId, { progress: JSON.stringify(progress), updatedAt: now }),
      );
    }
    stmts.push(...appendLogs(this.s.db, jobId, report.attempt, now, report.logs ?? []));
    await this.s.persist(stmts);
    return { ok: true, logged: report.logs?.length ?? 0 };
  }

  /** Counters and histograms for /metrics and the dashboard, with the queue's current stats. */
  async telemetrySnapshot(
    queue: string,
  ): Promise<{ stats: QueueStats; telemetry: TelemetrySnapshot }> {
    const stats = await this.stats(queue);
    return { stats, telemetry: this.s.telemetry.snapshot(Date.now()) };
  }

  async alarm(): Promise<void> {
    // Fault injection for the chaos suite (test/chaos): alarms are retried by the platform.
    if (this.env.FAULT_ALARM_FAIL_ONCE === '1' && !this.alarmFailedOnce) {
      this.alarmFailedOnce = true;
      log({ event: 'alarm_fault_injected', queue: this.s.queue });
      throw new Error('injected alarm failure (FAULT_ALARM_FAIL_ONCE)');
    }
    this.s.alarmAt = null;
    const now = Date.now();
    await this.s.outbox.flush(now, true);
    this.s.tick(now);
    await this.s.armAlarm();
  }

  /**
   * The cron retires an idle queue (durable-objects/retirement.ts): no job, no node, nothing new
   * since `idleSince`. The next submission records the queue in D1 again, which brings it back. An
   * object with nothing left worth keeping also drops its alarm and its storage.
   */
  async retire(
    queue: string,
    idleSince: number,
    outcomesSince: number,
  ): Promise<{ retired: boolean; cleared: boolean }> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const verdict = retireVerdict(
        this.ctx.storage.sql,
        idleSince,
        outcomesSince,
        Date.now() - REVOKED_KEY_MEMORY_MS,
      );
      if (verdict === 'busy') return { retired: false, cleared: false };
      this.s.queueRecorded = false;
      if (verdict === 'retire') return { retired: true, cleared: false };
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      await this.s.load(); // empty tables again, for whatever names the queue next
      log({ event: 'queue_storage_cleared', queue });
      return { retired: true, cleared: true };
    });
  }

  /** Stats, telemetry and autoscaling advice (telemetry.ts); a changed advice is logged and sent to SCALE_WEBHOOK_URL. */
  async observe(queue: string): Promise<{ stats: QueueStats; telemetry: TelemetrySnapshot }> {
    const stats = await this.stats(queue);
    const { telemetry, announcement } = this.s.telemetry.observe(
      Date.now(),
      queue,
      stats,
      this.s.config,
      announceThroughCourier(this.env.COURIER),
    );
    if (announcement) this.ctx.waitUntil(announcement);
    return { stats, telemetry };
  }

  /**
   * A batch of one node's results for this queue (`POST /workers/:id/results`, or carried by a
   * lease request): each goes through reportResult, whose D1 writes group-commit, and the answer is
   * one verdict per report, in order. 404 when this queue does not know the node at all.
   */
  async reportResults(
    queue: string,
    reports: (ResultReport & { job_id: string })[],
    terms?: ExchangeTerms,
  ): Promise<
    Outcome<{ verdicts: ResultVerdict[]; jobs?: DispatchedJob[]; standing?: QueueStanding }>
  > {
    this.s.bind(queue);
    return exchange(this.s, reports, terms, (id, r) => this.reportResult(queue, id, r, !terms));
  }
}
