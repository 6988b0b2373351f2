import { DurableObject } from 'cloudflare:workers';
import { SeqHeap } from '../src/core/heap';
import { ReadyQueue, type ReadyEntry } from '../src/core/ready-queue';
import { ConcurrencyGate } from '../src/core/concurrency';
import { newToken } from '../src/core/ids';
import { retryDelayMs, type BackoffPolicy } from '../src/core/backoff';
import { afterFailure, isPermanentExit, transition } from '../src/core/job-state';
import { configOf, type Config, type Env } from '../src/env';
import { dbOf, type Db } from '../src/db/client';
import {
  insertJobs,
  updateJob,
  deleteJobs,
  upsertQueue,
  activeJobsOfQueue,
  appendLogs,
  type JobPatch,
  type Stmt,
} from '../src/db/write-jobs';
import type { JobRow } from '../src/db/schema';
import { dependencyRows, getJobsByIds, type DependencyRow } from '../src/db/read-jobs';
import type { DispatchedJob, ProgressReport, ResultReport } from '../src/protocol/dispatch';
import { DispatchAnswer } from '../src/protocol/dispatch';
import type { ResultVerdict } from '../src/protocol/results';
import type {
  HeartbeatAnswer,
  Lease,
  WorkerHeartbeat,
  WorkerRegister,
  WorkerView,
} from '../src/protocol/worker';
import type { JobResult, RetryBackoff } from '../src/protocol/job';
import { log } from '../src/log';
import { Store, type ActiveJob, type WorkerRow } from './store';
import { Outbound, retryAfterMs } from './outbound';
import { Telemetry, type TelemetrySnapshot } from './telemetry';
import { Meter } from './metering';
import { CallbackDeliveries } from './callbacks';
import { announceThroughCourier } from './courier';
import { Outbox } from './outbox';
import { Dependencies } from './dependencies';
import { ACTIVE_AT, retireVerdict } from './retirement';
import { withBlobUrls } from './blob-urls';
import type { JobStatus } from '../src/protocol/job';
import type { AttemptEndReason } from '../src/protocol/attempt';
import { recordAttempt } from '../src/db/job-attempts';
import { REVOKED_KEY_MEMORY_MS } from '../src/core/node-key';

/** The node key a node registers with (src/api/node-scope.ts); null for the shared WORKER_TOKEN. */
export interface NodeKeyRef {
  key_id: string;
  /** The HMAC key of the node's dispatches. */
  sign_key: string;
}

/** A job as the API hands it to the scheduler on submit. */
export interface NewJob {
  id: string;
  tenant: string;
  type: string;
  payload: string;
  priority: number;
  max_retries: number;
  timeout_sec: number;
  executor: 'native' | 'wasm' | null;
  created_at: number;
  run_at: number | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  requires: string[] | null;
  backoff: RetryBackoff | null;
  replay_of?: string | null;
  callback_url?: string | null;
  failure_callback_url?: string | null;
  /** Ids of jobs of the same queue (or of the same submission) this one waits for. */
  depends_on?: string[] | null;
  /** An uploaded blob the job runs with instead of its (null) payload. */
  payload_blob?: string | null;
  /** W3C trace context (src/core/trace-context.ts): the job's own, or its submitter's. */
  traceparent?: string | null;
  tracestate?: string | null;
}

export type Refusal = {
  ok: false;
  status: 400 | 401 | 404 | 409 | 503;
  code: string;
  message: string;
  details?: Record<string, unknown>;
};
export type Outcome<T> = ({ ok: true } & T) | Refusal;

export interface QueueStats {
  queue: string;
  by_status: Record<string, number>;
  queued_by_priority: Record<string, number>;
  oldest_queued_at: number | null;
  workers: {
    registered: number;
    live: number;
    draining: number;
    capacity: number;
    running: number;
  };
  /** Queued jobs no live node can run, and why. */
  unroutable: { count: number; reasons: Record<string, number> };
  /** Queued jobs waiting for a slot of their concurrency key. */
  parked_by_concurrency_key: number;
}

const MAX_STORED_STDOUT = 256 * 1024;
const MAX_STORED_STDERR = 16 * 1024;
/** A stored result's bytes once serialised for the outbox: well under a storage value's 2 MB. */
const MAX_STORED_RESULT_BYTES = 512 * 1024;

/**
 * The Scheduler Durable Object: one per queue (`idFromName(queue)`). It is the single writer of job
 * state transitions for its queue. It keeps three heaps in memory, all rebuilt from its own storage
 * on start: `ready` (queued jobs by priority and submission order), `timers` (scheduled and retrying
 * jobs by due time) and `leases` (running jobs by deadline). One alarm is re-armed after every change
 * to the earliest deadline among timers, leases and worker heartbeat deadlines.
 */
export class Scheduler extends DurableObject<Env> {
  private store!: Store;
  private callbacks!: CallbackDeliveries;
  private outbox!: Outbox;
  private deps!: Dependencies;
  private readonly db: Db;
  private readonly outbound: Outbound;
  /** What this queue spends: storage and D1 statements, requests to nodes (metering.ts). */
  private readonly meter = new Meter();
  private readonly telemetry = new Telemetry(() => this.meter.snapshot());
  private readonly d1: D1Database;
  private readonly ready = new ReadyQueue({
    maxStarvationMs: () => this.config.MAX_STARVATION_SEC * 1000,
    weightOf: (tenant) => this.config.TENANT_WEIGHTS[tenant] ?? 1,
  });
  private readonly gate = new ConcurrencyGate();
  /** Queued jobs no registered node can run, with the reason; retried when a node registers. */
  private readonly unroutable = new Map<number, string>();
  private readonly timers = new SeqHeap();
  private readonly leases = new SeqHeap();
  /** Deadline of each running job's lease: entries of `leases` not here are stale (compacted away). */
  private readonly liveLeases = new Map<number, number>();
  /** When outcomes older than retention were last pruned. */
  private prunedAt = 0;
  /** Job ids each worker is running, rebuilt from storage. */
  private readonly running = new Map<string, Set<string>>();
  /** Nodes that failed a dispatch or asked us to wait (Retry-After) are skipped until then. */
  private readonly unavailableUntil = new Map<string, number>();
  private readonly dispatchFailures = new Map<string, number>();
  /** `job#attempt` -> heartbeats in a row that did not list it. */
  private readonly missedBeats = new Map<string, number>();
  /** Pull nodes with a lease request waiting (at most one each): only they are idle for dispatchPass. */
  private readonly pullWaiters = new Map<string, PullWaiter>();
  private rr = 0;
  private queue = 'default';
  private queueRecorded = false;
  private faultVars: { rate: number; queues: string[] } | undefined;
  /** The queue this incarnation has checked its stored name against (bind). */
  private bound: string | null = null;
  private pumping = false;
  private pumpAgain = false;
  private alarmAt: number | null = null;
  private alarmFailedOnce = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.d1 = this.meter.d1(env.DB);
    this.db = dbOf(this.d1);
    this.outbound = new Outbound(
      () => this.config.WORKER_TOKEN,
      () => this.config.DISPATCH_TIMEOUT_MS,
      () => this.meter.add('outbound_requests'),
    );
    void ctx.blockConcurrencyWhile(async () => this.load());
  }

  private get config(): Config {
    const parsed = configOf(this.env);
    if (!parsed.ok)
      throw new Error(`config_invalid: ${parsed.problems.map((p) => p.variable).join(', ')}`);
    return parsed.config;
  }

  /** Rebuilds the heaps from storage: what makes an eviction or restart lose nothing. */
  private async load(): Promise<void> {
    const sql = this.meter.sql(this.ctx.storage.sql);
    this.store = new Store(sql);
    this.outbox = new Outbox(sql, this.d1, {
      stalled: () => void this.armAlarm(),
      retryMs: OUTBOX_RETRY_MS,
      faultRate: () => this.d1FaultRate(),
    });
    this.deps = new Dependencies(sql);
    // What a previous incarnation logged and D1 may not have: written first, in order.
    if (this.outbox.size > 0) queueMicrotask(() => void this.outbox.flush());
    // Callbacks go out through a courier per receiver origin, not this object's connections.
    this.callbacks = new CallbackDeliveries(sql, this.env.COURIER, this.db);
    this.queue = this.store.meta('queue') ?? 'default';
    for (const r of this.store.queuedEntries())
      this.ready.push({
        seq: r.seq,
        tenant: r.tenant,
        priority: r.priority,
        createdAt: r.created_at,
      });
    for (const status of ['scheduled', 'retrying'] as const)
      for (const { seq, key } of this.store.jobKeys(status, 'next_attempt_at'))
        this.timers.push(key, seq);
    for (const job of this.store.jobsWithStatus('running')) {
      this.holdLease(job);
      this.slots(job.worker_id!).add(job.id);
      this.gate.started(job.concurrency_key);
    }
    // What the platform holds, not what was last asked for: a restart of the runtime may have lost it.
    this.alarmAt = await this.ctx.storage.getAlarm();
  }

  private bind(queue: string): void {
    // Every call names its queue; the storage read is needed once per incarnation, not per call.
    if (this.bound === queue) return;
    if (this.store.meta('queue') !== queue) this.store.setMeta('queue', queue);
    this.queue = queue;
    this.bound = queue;
  }

  // ---------------------------------------------------------------- jobs

  /**
   * Takes the jobs, all or none, and answers once D1 holds them too (so a 2xx job is visible and
   * cancellable). The object's commit and the D1 insert are one storage transaction (the insert goes
   * to the outbox); if D1 does not take it in time the object undoes the jobs and D1 is told to
   * forget them, in that order. A repeat of jobs this object already took (an idempotent retry) gets
   * those jobs back, never new ones: `created` is false.
   */
  async submit(
    queue: string,
    jobs: NewJob[],
    fieldPrefix = '',
  ): Promise<Outcome<{ jobs: JobRow[]; created: boolean }>> {
    this.bind(queue);
    if (this.knows(jobs[0].id)) return this.existing(jobs);
    // Dependencies this object does not know are looked up in D1 first; everything after that runs
    // in one turn, so no dependency can finish between being judged and being waited for.
    const looked = await this.lookUpDependencies(jobs);
    if (this.knows(jobs[0].id)) return this.existing(jobs);
    const now = Date.now();
    const judged = this.judgeDependencies(jobs, looked, fieldPrefix);
    if (!judged.ok) return judged;
    let seq = this.store.nextSeq();
    const actives: ActiveJob[] = [];
    const rows: JobRow[] = [];
    let range = { first: -1, last: -1 };
    this.ctx.storage.transactionSync(() => {
      for (const [i, j] of jobs.entries()) {
        const scheduled = j.run_at !== null && j.run_at > now;
        const waiting = judged.pending[i].size > 0;
        const active: ActiveJob = {
          seq: seq++,
          id: j.id,
          tenant: j.tenant,
          type: j.type,
          payload: j.payload,
          priority: j.priority,
          status: waiting ? 'waiting' : scheduled ? 'scheduled' : 'queued',
          attempts: 0,
          failures: 0,
          lease_losses: 0,
          max_retries: j.max_retries,
          timeout_sec: j.timeout_sec,
          executor: j.executor,
          token: null,
          worker_id: null,
          started_at: null,
          lease_deadline: null,
          // A waiting job keeps its run_at here: it is queued no earlier once its dependencies are done.
          next_attempt_at: scheduled || (waiting && j.run_at !== null) ? j.run_at : null,
          created_at: j.created_at,
          last_error: null,
          concurrency_key: j.concurrency_key,
          concurrency_limit: j.concurrency_limit,
          requires: j.requires ? JSON.stringify(j.requires) : null,
          backoff: j.backoff ? JSON.stringify(j.backoff) : null,
          callback_url: j.callback_url ?? null,
          failure_callback_url: j.failure_callback_url ?? null,
          payload_blob: j.payload_blob ?? null,
          traceparent: j.traceparent ?? null,
          tracestate: j.tracestate ?? null,
        };
        this.store.insertJob(active);
        if (waiting) this.deps.wait(active.seq, judged.pending[i]);
        actives.push(active);
        rows.push({
          id: j.id,
          tenant: j.tenant,
          queue,
          type: j.type,
          payload: j.payload,
          priority: j.priority,
          status: active.status,
          attempts: 0,
          maxRetries: j.max_retries,
          timeoutSec: j.timeout_sec,
          executor: j.executor,
          createdAt: j.created_at,
          updatedAt: now,
          startedAt: null,
          finishedAt: null,
          nextAttemptAt: active.next_attempt_at,
          workerId: null,
          result: null,
          error: null,
          concurrencyKey: active.concurrency_key,
          concurrencyLimit: active.concurrency_limit,
          requires: active.requires,
          backoff: active.backoff,
          replayOf: j.replay_of ?? null,
          callbackUrl: active.callback_url,
          failureCallbackUrl: active.failure_callback_url,
          callbackState: null,
          progress: null,
          dependsOn: j.depends_on?.length ? JSON.stringify(j.depends_on) : null,
          payloadBlob: j.payload_blob ?? null,
          traceparent: active.traceparent,
          tracestate: active.tracestate,
          version: this.outbox.version(),
        });
      }
      this.store.setMeta('seq', String(seq - 1));
      this.store.setMeta(ACTIVE_AT, String(now));
      const stmts: Stmt[] = insertJobs(this.db, rows);
      if (!this.queueRecorded) stmts.push(upsertQueue(this.db, queue, now));
      range = this.outbox.add(stmts, now);
    });
    if (!(await this.outbox.landed(range, SUBMIT_WAIT_MS))) {
      // D1 did not take the jobs in time: they were never accepted, so they must not run either. D1
      // may still take the insert later; the delete behind it in the outbox undoes it, and the
      // outcome keeps the cron from importing them meanwhile.
      this.ctx.storage.transactionSync(() => {
        for (const a of actives) {
          this.store.deleteJob(a.seq);
          this.deps.forget(a.seq);
          this.deps.record(a.id, a.tenant, 'cancelled', now);
        }
        this.outbox.add([
          deleteJobs(
            this.db,
            actives.map((a) => a.id),
          ),
        ]);
      });
      return {
        ok: false,
        status: 503,
        code: 'storage_unavailable',
        message: `could not store the jobs: D1 did not take them within ${SUBMIT_WAIT_MS} ms`,
      };
    }
    this.queueRecorded = true;
    for (const a of actives) {
      if (a.status === 'queued') this.enqueue(a);
      else if (a.status === 'scheduled') this.timers.push(a.next_attempt_at!, a.seq);
    }
    this.telemetry.submitted(actives.length, now);
    this.kick();
    await this.armAlarm();
    return { ok: true, jobs: rows, created: true };
  }

  /** Whether this object ever took the job: it holds it, or remembers how it ended. */
  private knows(id: string): boolean {
    return !!this.store.jobById(id) || !!this.deps.outcome(id);
  }

  /** A repeat of a submission this object took: its jobs as D1 holds them once the outbox landed. */
  private async existing(jobs: NewJob[]): Promise<Outcome<{ jobs: JobRow[]; created: boolean }>> {
    await this.outbox.landed({ first: 0, last: Number.MAX_SAFE_INTEGER }, SUBMIT_WAIT_MS);
    const ids = jobs.map((j) => j.id);
    const rows = await getJobsByIds(this.db, jobs[0].tenant, ids);
    if (rows.length !== ids.length)
      return {
        ok: false,
        status: 503,
        code: 'storage_unavailable',
        message: 'these jobs were refused earlier (D1 did not take them); submit them again',
      };
    const byId = new Map(rows.map((r) => [r.id, r]));
    return { ok: true, jobs: ids.map((id) => byId.get(id)!), created: false };
  }

  /** Cancels a job that is not terminal. A running job's node is told to kill it. */
  async cancel(queue: string, jobId: string): Promise<Outcome<{ previous: string }>> {
    this.bind(queue);
    const job = this.store.jobById(jobId);
    if (!job)
      return {
        ok: false,
        status: 409,
        code: 'not_active',
        message: 'the job is not active in its queue',
      };
    const now = Date.now();
    const previous = job.status;
    const ended =
      previous === 'running' ? [this.attemptEnded(job, 'cancelled', now, 'cancelled')] : [];
    if (job.status === 'running') this.killOnNode(job);
    job.status = transition(job.status, 'cancelled');
    this.release(job);
    this.store.deleteJob(job.seq);
    this.deps.forget(job.seq);
    this.telemetry.cancelled(now);
    log({
      event: 'job_cancelled',
      job_id: job.id,
      previous_status: previous,
      worker_id: job.worker_id,
      attempt: job.attempts,
    });
    await this.persist([
      ...ended,
      this.project(job.id, {
        status: 'cancelled',
        finishedAt: now,
        updatedAt: now,
        nextAttemptAt: null,
        error: 'cancelled',
      }),
      ...this.finished(job, 'cancelled', null, 'cancelled', now),
    ]);
    this.kick();
    await this.armAlarm();
    return { ok: true, previous };
  }

  async reportResult(
    queue: string,
    jobId: string,
    report: ResultReport,
  ): Promise<Outcome<{ status: string }>> {
    this.bind(queue);
    const job = this.store.jobById(jobId);
    const fenced =
      job &&
      job.status === 'running' &&
      job.attempts === report.attempt &&
      job.token === report.token &&
      job.worker_id === report.worker_id;
    if (!job || !fenced) {
      log({
        event: 'result_refused',
        job_id: jobId,
        worker_id: report.worker_id,
        attempt: report.attempt,
        current_attempt: job?.attempts ?? null,
      });
      return {
        ok: false,
        status: 409,
        code: 'stale_attempt',
        message:
          'this attempt no longer holds the job (it was re-dispatched, timed out, cancelled or already finished)',
        details: { attempt: report.attempt, current_attempt: job?.attempts ?? null },
      };
    }
    const now = Date.now();
    const { result, text: resultText } = boundedResult(toResult(report), report.stdout);
    let stmt: Stmt;
    const extra: Stmt[] = [];
    let ended: Stmt;
    if (report.exit_code === 0 && !report.timed_out && !report.error) {
      ended = this.attemptEnded(job, 'succeeded', now, null, report);
      job.status = transition(job.status, 'succeeded');
      this.release(job);
      this.store.deleteJob(job.seq);
      stmt = this.project(job.id, {
        status: 'succeeded',
        finishedAt: now,
        updatedAt: now,
        result: resultText,
        error: null,
        workerId: report.worker_id,
      });
      extra.push(...this.finished(job, 'succeeded', result, null, now));
      this.telemetry.completed(now - (job.started_at ?? now), now);
      // Per job, so debug: at info, workerd's console (relayed by wrangler locally) was the largest
      // single CPU cost of a no-op job (bench/costs). /metrics counts completions.
      log({
        level: 'debug',
        event: 'job_completed',
        job_id: job.id,
        worker_id: report.worker_id,
        attempt: job.attempts,
        executor: report.executor,
        duration_ms: report.duration_ms,
      });
    } else {
      const error = describeFailure(report, job.timeout_sec);
      const reason = report.timed_out ? 'timed_out' : 'failed';
      ended = this.attemptEnded(job, reason, now, error, report);
      stmt = this.failAttempt(
        job,
        error,
        isPermanentExit(report.exit_code) && !report.timed_out,
        now,
        resultText,
      );
    }
    // The slot is free in this object's state already: dispatch the next job while D1 commits.
    this.kick();
    await this.persist([ended, stmt, ...extra]);
    await this.armAlarm();
    return { ok: true, status: job.status };
  }

  /** Progress and log lines from the attempt that holds the job; anything else is stale (409). */
  async reportProgress(
    queue: string,
    jobId: string,
    report: ProgressReport,
  ): Promise<Outcome<{ logged: number }>> {
    this.bind(queue);
    const job = this.store.jobById(jobId);
    if (
      !job ||
      job.status !== 'running' ||
      job.attempts !== report.attempt ||
      job.token !== report.token ||
      job.worker_id !== report.worker_id
    ) {
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
      stmts.push(updateJob(this.db, jobId, { progress: JSON.stringify(progress), updatedAt: now }));
    }
    stmts.push(...appendLogs(this.db, jobId, report.attempt, now, report.logs ?? []));
    await this.persist(stmts);
    return { ok: true, logged: report.logs?.length ?? 0 };
  }

  /**
   * Each job's state as this object knows it (the system of record): active here, finished here, or
   * `unknown` (never taken, or forgotten after retention). For operators and the chaos checker.
   */
  async states(queue: string, ids: string[]): Promise<Record<string, string>> {
    this.bind(queue);
    return Object.fromEntries(
      ids.map((id) => [
        id,
        this.store.jobById(id)?.status ?? this.deps.outcome(id)?.status ?? 'unknown',
      ]),
    );
  }

  /** Chaos only: the share of D1 batches the outbox fails in this queue (FAULT_D1_FAIL_RATE). */
  private d1FaultRate(): number {
    // Read once: the outbox asks at every batch, and a binding read is not free (bench/costs).
    this.faultVars ??= {
      rate: Number(this.env.FAULT_D1_FAIL_RATE ?? 0) || 0,
      queues: (this.env.FAULT_D1_FAIL_QUEUES ?? '').split(','),
    };
    const { rate, queues } = this.faultVars;
    return rate > 0 && queues.includes(this.queue) ? rate : 0;
  }

  /**
   * The head of the queue in dispatch order, for operators and tests; with `tenant`, only that
   * tenant's jobs (a queue may be shared), looking deeper until `limit` of them are found.
   */
  async peek(
    queue: string,
    limit: number,
    tenant?: string,
  ): Promise<{ id: string; priority: number; type: string; tenant: string; created_at: number }[]> {
    this.bind(queue);
    const now = Date.now();
    for (let window = limit * 2 + 16; ; window *= 4) {
      const entries = this.ready.peek(now, window);
      const out = [];
      for (const e of entries) {
        const job = this.store.jobBySeq(e.seq);
        if (!job || job.status !== 'queued') continue;
        if (tenant !== undefined && job.tenant !== tenant) continue;
        out.push({
          id: job.id,
          priority: job.priority,
          type: job.type,
          tenant: job.tenant,
          created_at: job.created_at,
        });
        if (out.length >= limit) break;
      }
      if (out.length >= limit || entries.length < window) return out;
    }
  }

  /** Counters and histograms for /metrics and the dashboard, with the queue's current stats. */
  async telemetrySnapshot(
    queue: string,
  ): Promise<{ stats: QueueStats; telemetry: TelemetrySnapshot }> {
    const stats = await this.stats(queue);
    return { stats, telemetry: this.telemetry.snapshot(Date.now()) };
  }

  /**
   * The queue's figures; with `tenant`, the job figures are that tenant's alone (the nodes are shared,
   * so their counts stay whole, but `running` is the tenant's running jobs).
   */
  async stats(queue: string, tenant?: string): Promise<QueueStats> {
    this.bind(queue);
    const now = Date.now();
    const workers = this.store.workers();
    const live = workers.filter((w) => this.isLive(w, now));
    const byStatus = this.store.countsByStatus(tenant);
    const mine = (seq: number) =>
      tenant === undefined || this.store.jobBySeq(seq)?.tenant === tenant;
    const unroutable = [...this.unroutable].flatMap(([seq, why]) => (mine(seq) ? [why] : []));
    return {
      queue,
      by_status: byStatus,
      queued_by_priority: this.store.queuedByPriority(tenant),
      oldest_queued_at: this.store.oldestQueuedCreatedAt(tenant),
      workers: {
        registered: workers.length,
        live: live.length,
        draining: workers.filter((w) => w.status === 'draining').length,
        capacity: live.reduce((s, w) => s + w.capacity, 0),
        running:
          tenant === undefined
            ? workers.reduce((s, w) => s + this.slots(w.id).size, 0)
            : (byStatus.running ?? 0),
      },
      unroutable: { count: unroutable.length, reasons: countValues(unroutable) },
      parked_by_concurrency_key:
        tenant === undefined
          ? this.gate.parkedSize
          : [...this.gate.parkedSeqs()].filter(mine).length,
    };
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(
    queue: string,
    reg: WorkerRegister,
    key: NodeKeyRef | null = null,
  ): Promise<Outcome<{ worker: WorkerView }>> {
    this.bind(queue);
    const now = Date.now();
    const existing = this.store.worker(reg.id);
    // An API isolate may still hold a revoked key for a while (src/api/node-key-cache.ts): this
    // object, told at revocation, refuses it at once.
    if (key && this.store.isRevokedNodeKey(key.key_id))
      return {
        ok: false,
        status: 401,
        code: 'node_key_revoked',
        message: `node key ${key.key_id} was revoked: this node may not register`,
      };
    // An id held with a node key is that key's binding's alone; the shared token cannot take it.
    if (existing?.key_id && !key)
      return {
        ok: false,
        status: 409,
        code: 'node_id_taken',
        message: `node ${reg.id} is registered with node key ${existing.key_id}: only a node key bound to this id may register it`,
        details: { problems: [{ field: 'id', message: 'registered with a node key' }] },
      };
    // A node that registers again under the same id has restarted: whatever it was running is gone.
    if (existing) this.handBackAll(existing.id, 'worker re-registered', true, now);
    if (existing) this.endPull(existing.id);
    const row: WorkerRow = {
      id: reg.id,
      url: reg.url ?? '',
      capacity: reg.capacity,
      types: reg.types ?? null,
      executors: reg.executors,
      queues: reg.queues,
      labels: reg.labels ?? {},
      status: 'active',
      registered_at: now,
      last_heartbeat_at: now,
      mode: reg.mode,
      key_id: key?.key_id ?? null,
      sign_key: key?.sign_key ?? null,
    };
    this.store.saveWorker(row);
    this.store.setMeta(ACTIVE_AT, String(now));
    this.unavailableUntil.delete(reg.id);
    this.dispatchFailures.delete(reg.id);
    this.retryUnroutable();
    log({
      event: 'worker_registered',
      worker_id: reg.id,
      mode: reg.mode,
      url: reg.url,
      capacity: reg.capacity,
      executors: reg.executors,
      key_id: row.key_id ?? undefined,
      queue,
    });
    this.kick();
    await this.armAlarm();
    return { ok: true, worker: this.view(row, now) };
  }

  async heartbeat(
    queue: string,
    workerId: string,
    hb: WorkerHeartbeat,
  ): Promise<Outcome<{ answer: HeartbeatAnswer }>> {
    this.bind(queue);
    const row = this.store.worker(workerId);
    if (!row)
      return {
        ok: false,
        status: 404,
        code: 'worker_unknown',
        message: `worker ${workerId} is not registered (it may have been reaped): register again`,
      };
    const now = Date.now();
    row.last_heartbeat_at = now;
    if (hb.draining && row.status !== 'draining') {
      row.status = 'draining';
      log({ event: 'worker_draining', worker_id: workerId, queue });
    }
    // A draining pull node takes no new work: its waiting lease request ends empty.
    if (row.status === 'draining') this.endPull(workerId);
    this.store.saveWorker(row);
    const kill: Lease[] = hb.running.filter((l) => {
      const job = this.store.jobById(l.job_id);
      return !(
        job &&
        job.status === 'running' &&
        job.worker_id === workerId &&
        job.attempts === l.attempt &&
        job.token === l.token
      );
    });
    this.reconcileLeases(workerId, hb, now);
    await this.armAlarm();
    return {
      ok: true,
      answer: {
        status: row.status,
        drain: row.status === 'draining',
        kill,
        heartbeat_interval_sec: this.config.HEARTBEAT_INTERVAL_SEC,
      },
    };
  }

  /**
   * A job we think a node runs but that the node's heartbeats do not list (running or still
   * reporting) was lost: its dispatch never arrived (a restart mid-request) or the node forgot it. Two
   * heartbeats in a row without it, well after the dispatch, and it goes back to the queue, as a lost
   * lease, rather than waiting out its whole timeout.
   */
  private reconcileLeases(workerId: string, hb: WorkerHeartbeat, now: number): void {
    const held = new Set(hb.running.map((l) => `${l.job_id}#${l.attempt}`));
    const stmts: Stmt[] = [];
    for (const job of this.store.runningJobsOf(workerId)) {
      const key = `${job.id}#${job.attempts}`;
      if (held.has(key) || now - (job.started_at ?? now) < this.config.DISPATCH_TIMEOUT_MS) {
        this.missedBeats.delete(key);
        continue;
      }
      const missed = (this.missedBeats.get(key) ?? 0) + 1;
      this.missedBeats.set(key, missed);
      if (missed < 2) continue;
      this.missedBeats.delete(key);
      const reason = `node ${workerId} no longer holds attempt ${job.attempts}`;
      stmts.push(
        this.attemptEnded(job, 'lease_lost', now, reason),
        this.loseLease(job, reason, now),
      );
    }
    void this.persist(stmts);
  }

  /** A node leaving: its running jobs go back to the queue without costing a retry. */
  async deregisterWorker(queue: string, workerId: string): Promise<Outcome<{ requeued: number }>> {
    this.bind(queue);
    const row = this.store.worker(workerId);
    if (!row)
      return {
        ok: false,
        status: 404,
        code: 'worker_unknown',
        message: `worker ${workerId} is not registered`,
      };
    const requeued = this.handBackAll(workerId, 'worker deregistered', false, Date.now());
    this.store.deleteWorker(workerId);
    this.running.delete(workerId);
    this.endPull(workerId);
    log({ event: 'worker_deregistered', worker_id: workerId, requeued, queue });
    this.kick();
    await this.armAlarm();
    return { ok: true, requeued };
  }

  /**
   * A node key was revoked: its nodes leave as if they had deregistered (their jobs go back to the
   * queue at no retry cost), and the key is refused here from now on, whatever an API isolate's
   * cache still holds.
   */
  async revokeNodeKey(
    queue: string,
    keyId: string,
  ): Promise<{ deregistered: string[]; requeued: number }> {
    this.bind(queue);
    const now = Date.now();
    this.store.revokeNodeKey(keyId, now, REVOKED_KEY_MEMORY_MS);
    const gone = this.store.workers().filter((w) => w.key_id === keyId);
    let requeued = 0;
    for (const w of gone) {
      const n = this.handBackAll(w.id, 'node key revoked', false, now);
      requeued += n;
      this.store.deleteWorker(w.id);
      this.running.delete(w.id);
      this.endPull(w.id);
      log({ event: 'worker_key_revoked', worker_id: w.id, key_id: keyId, requeued: n, queue });
    }
    this.kick();
    await this.armAlarm();
    return { deregistered: gone.map((w) => w.id), requeued };
  }

  async listWorkers(queue: string): Promise<WorkerView[]> {
    this.bind(queue);
    const now = Date.now();
    return this.store.workers().map((w) => this.view(w, now));
  }

  // ---------------------------------------------------------------- pull mode

  /**
   * A pull node's long poll (`POST /workers/:id/lease`). It waits here until dispatchPass assigns it
   * jobs, exactly as it would to a push node (same order, routing, fencing tokens and lease
   * deadlines), or until `wait_ms` passes (no jobs). A newer request from the same node supersedes
   * this one, which then ends empty: its connection is most likely gone, and jobs are only ever
   * handed to the one request still attached. Jobs handed to a request whose answer never reaches the
   * node are not listed in its heartbeats, so reconcileLeases puts them back in the queue.
   */
  async lease(
    queue: string,
    workerId: string,
    req: { max_jobs?: number; wait_ms: number; request_id: string; prefetch?: number },
  ): Promise<Outcome<{ jobs: DispatchedJob[]; capacity: number }>> {
    this.bind(queue);
    const row = this.store.worker(workerId);
    if (!row)
      return {
        ok: false,
        status: 404,
        code: 'worker_unknown',
        message: `worker ${workerId} is not registered (it may have been reaped): register again`,
      };
    if (row.mode !== 'pull') {
      return {
        ok: false,
        status: 409,
        code: 'not_pull_mode',
        message: `worker ${workerId} registered in push mode: its jobs are pushed to ${row.url}/run; register with mode "pull" to lease them`,
      };
    }
    if (row.status === 'draining')
      return {
        ok: false,
        status: 503,
        code: 'draining',
        message: `worker ${workerId} is draining and takes no new jobs`,
      };
    const prefetch = req.prefetch ?? 0;
    if (req.max_jobs !== undefined && req.max_jobs > row.capacity + prefetch) {
      const message = prefetch
        ? `at most the node's capacity plus prefetch, ${row.capacity + prefetch}`
        : `at most the node's capacity, ${row.capacity}`;
      return {
        ok: false,
        status: 400,
        code: 'validation_failed',
        message: `invalid body: max_jobs: ${message}`,
        details: { in: 'body', problems: [{ field: 'max_jobs', message }] },
      };
    }
    this.endPull(workerId);
    const jobs = await new Promise<DispatchedJob[]>((resolve) => {
      const timer = setTimeout(() => this.endPull(workerId, req.request_id), req.wait_ms);
      this.pullWaiters.set(workerId, {
        requestId: req.request_id,
        max: req.max_jobs ?? row.capacity,
        prefetch,
        resolve,
        timer,
      });
      this.kick();
    });
    // Signed blob URLs as a push dispatch carries them (blob-urls.ts).
    return {
      ok: true,
      jobs: await withBlobUrls(jobs, this.config.WORKER_TOKEN, Date.now()),
      capacity: row.capacity,
    };
  }

  /** The API gave up on one of its lease requests (another queue answered first): end it, with what it already has. */
  async endLease(queue: string, workerId: string, requestId: string): Promise<void> {
    this.bind(queue);
    this.endPull(workerId, requestId);
  }

  /**
   * Leased jobs the API could not hand to the node (more than it asked for, across queues): back to
   * the queue in their place, at no cost, like a push node's `busy` rejection.
   */
  async declineLeases(
    queue: string,
    workerId: string,
    leases: Lease[],
  ): Promise<{ requeued: number }> {
    this.bind(queue);
    const now = Date.now();
    const stmts: Stmt[] = [];
    for (const l of leases) {
      const job = this.store.jobById(l.job_id);
      if (
        !job ||
        job.status !== 'running' ||
        job.worker_id !== workerId ||
        job.attempts !== l.attempt ||
        job.token !== l.token
      )
        continue;
      const reason = `node ${workerId} asked for fewer jobs`;
      stmts.push(this.attemptEnded(job, 'lease_lost', now, reason), this.requeue(job, reason, now));
    }
    await this.persist(stmts);
    this.kick();
    await this.armAlarm();
    return { requeued: stmts.length / 2 };
  }

  /** Ends the node's waiting lease request (only `requestId`'s, when given), answering it with `jobs`. */
  private endPull(workerId: string, requestId?: string, jobs: DispatchedJob[] = []): void {
    const waiter = this.pullWaiters.get(workerId);
    if (!waiter || (requestId !== undefined && waiter.requestId !== requestId)) return;
    this.pullWaiters.delete(workerId);
    clearTimeout(waiter.timer);
    waiter.resolve(jobs);
  }

  /** dispatchPass's delivery to a pull node: the jobs answer its waiting request. */
  private deliverPulled(node: WorkerRow, jobs: DispatchedJob[]): void {
    // dispatchPass is synchronous and picks pull nodes only while they wait, so the waiter is there.
    this.endPull(node.id, undefined, jobs);
    for (const j of jobs)
      log({
        level: 'debug',
        event: 'job_dispatched',
        job_id: j.job_id,
        worker_id: node.id,
        attempt: j.attempt,
        mode: 'pull',
        queue: this.queue,
      });
  }

  // ---------------------------------------------------------------- time

  async alarm(): Promise<void> {
    // Fault injection for the chaos suite (test/chaos): alarms are retried by the platform.
    if (this.env.FAULT_ALARM_FAIL_ONCE === '1' && !this.alarmFailedOnce) {
      this.alarmFailedOnce = true;
      log({ event: 'alarm_fault_injected', queue: this.queue });
      throw new Error('injected alarm failure (FAULT_ALARM_FAIL_ONCE)');
    }
    this.alarmAt = null;
    const now = Date.now();
    await this.outbox.flush(now, true);
    this.tick(now);
    await this.armAlarm();
  }

  /**
   * The cron backstop: the same reaping and timers as the alarm, a retry of the outbox, and a look
   * at D1's active jobs of the queue. D1 never overrides this object: a job it holds or remembers
   * finishing is repaired in D1 from the object (once nothing of the object's is still on its way
   * there), and only a job the object never took (its storage was lost) is imported and run.
   */
  async reconcile(queue: string): Promise<{ imported: number }> {
    this.bind(queue);
    const now = Date.now();
    this.tick(now);
    await this.outbox.flush(now, true);
    let rows: JobRow[];
    try {
      rows = await activeJobsOfQueue(this.db, queue, 500);
    } catch (e) {
      log({ event: 'reconcile_skipped', queue, error: String(e).slice(0, 300) });
      await this.armAlarm();
      return { imported: 0 };
    }
    const dependsOn = (r: JobRow): string[] =>
      r.dependsOn ? (JSON.parse(r.dependsOn) as string[]) : [];
    const unseen = (r: JobRow) => !this.knows(r.id);
    const looked = await this.lookUpDependencies(
      rows
        .filter((r) => r.status === 'waiting' && unseen(r))
        .map((r) => ({ id: r.id, depends_on: dependsOn(r) })),
    );
    // From here on one synchronous turn: judged against what the object holds now, after every await.
    const stmts: Stmt[] = [];
    const settled = this.outbox.size === 0;
    let imported = 0;
    let repaired = 0;
    let seq = this.store.nextSeq();
    for (const r of rows) {
      const active = this.store.jobById(r.id);
      const ended = active ? null : this.deps.outcome(r.id);
      if (active || ended) {
        if (settled && (active?.status ?? ended!.status) !== r.status) {
          stmts.push(
            this.project(
              r.id,
              active
                ? stateOf(active, now)
                : { status: ended!.status, finishedAt: now, nextAttemptAt: null, updatedAt: now },
            ),
          );
          repaired++;
        }
        continue;
      }
      // A waiting job waits again for what has not finished; one whose dependency failed is cancelled.
      const pending = new Set<string>();
      let failedDep: string | null = null;
      for (const id of dependsOn(r)) {
        const known = this.dependency(id, looked);
        if (known?.status === 'failed' || known?.status === 'cancelled') failedDep ??= id;
        else if (known && known.status !== 'succeeded') pending.add(id);
      }
      if (failedDep !== null) {
        this.deps.record(r.id, r.tenant, 'cancelled', now);
        stmts.push(
          this.project(r.id, {
            status: 'cancelled',
            finishedAt: now,
            updatedAt: now,
            error: `dependency ${failedDep} did not succeed`,
          }),
        );
        continue;
      }
      const job: ActiveJob = {
        seq: seq++,
        id: r.id,
        tenant: r.tenant,
        type: r.type,
        payload: r.payload,
        priority: r.priority,
        status: pending.size ? 'waiting' : 'queued',
        attempts: r.attempts,
        failures: 0,
        lease_losses: 0,
        max_retries: r.maxRetries,
        timeout_sec: r.timeoutSec,
        executor: r.executor,
        token: null,
        worker_id: null,
        started_at: null,
        lease_deadline: null,
        next_attempt_at: null,
        created_at: r.createdAt,
        last_error: r.error,
        concurrency_key: r.concurrencyKey,
        concurrency_limit: r.concurrencyLimit,
        requires: r.requires,
        backoff: r.backoff,
        callback_url: r.callbackUrl,
        failure_callback_url: r.failureCallbackUrl,
        payload_blob: r.payloadBlob,
        traceparent: r.traceparent,
        tracestate: r.tracestate,
      };
      this.store.insertJob(job);
      if (pending.size) this.deps.wait(job.seq, pending);
      else this.enqueue(job);
      imported++;
      stmts.push(
        this.project(r.id, {
          status: job.status,
          updatedAt: now,
          workerId: null,
          nextAttemptAt: null,
        }),
      );
    }
    if (imported) this.store.setMeta('seq', String(seq - 1));
    if (imported || repaired) log({ event: 'reconcile', queue, imported, repaired });
    await this.persist(stmts);
    this.kick();
    await this.armAlarm();
    return { imported };
  }

  /** Everything that is due: reap silent nodes, expire leases, release timers, then dispatch. */
  private tick(now: number): void {
    if (this.config.RETENTION_DAYS > 0 && now - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.deps.prune(now - this.config.RETENTION_DAYS * 86_400_000);
    }
    this.reap(now);
    this.expireLeases(now);
    this.releaseTimers(now);
    this.kick();
    void this.callbacks.deliverDue(now).then(() => this.armAlarm());
  }

  private reap(now: number): void {
    const timeoutMs = this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
    for (const w of this.store.workers()) {
      if (now - w.last_heartbeat_at <= timeoutMs) continue;
      const requeued = this.handBackAll(w.id, 'worker stopped heart-beating', true, now);
      this.store.deleteWorker(w.id);
      this.running.delete(w.id);
      this.endPull(w.id);
      this.telemetry.reaped(now);
      log({
        event: 'worker_stale',
        worker_id: w.id,
        heartbeat_age_sec: (now - w.last_heartbeat_at) / 1000,
        requeued,
        queue: this.queue,
      });
    }
  }

  private expireLeases(now: number): void {
    const stmts: Stmt[] = [];
    while (this.leases.size > 0 && this.leases.peekKey() <= now) {
      const job = this.store.jobBySeq(this.leases.pop());
      if (
        !job ||
        job.status !== 'running' ||
        job.lease_deadline === null ||
        job.lease_deadline > now
      )
        continue;
      this.killOnNode(job);
      const error = `timed out: no result ${job.timeout_sec}s after dispatch to ${job.worker_id}`;
      stmts.push(
        this.attemptEnded(job, 'timed_out', now, error),
        this.failAttempt(job, error, false, now, null),
      );
    }
    void this.persist(stmts);
  }

  private releaseTimers(now: number): void {
    const stmts: Stmt[] = [];
    while (this.timers.size > 0 && this.timers.peekKey() <= now) {
      const job = this.store.jobBySeq(this.timers.pop());
      if (
        !job ||
        (job.status !== 'scheduled' && job.status !== 'retrying') ||
        (job.next_attempt_at ?? 0) > now
      )
        continue;
      job.status = transition(job.status, 'queued');
      job.next_attempt_at = null;
      this.store.saveJob(job);
      this.enqueue(job);
      stmts.push(this.project(job.id, { status: 'queued', nextAttemptAt: null, updatedAt: now }));
    }
    void this.persist(stmts);
  }

  private async armAlarm(): Promise<void> {
    const now = Date.now();
    let next = Math.min(
      this.timers.peekKey(),
      this.leases.peekKey(),
      this.callbacks.nextAt(),
      this.outbox.stalledUntil ?? Infinity,
    );
    const timeoutMs = this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
    for (const w of this.store.workers())
      next = Math.min(next, w.last_heartbeat_at + timeoutMs + 1);
    if (this.ready.size > 0)
      for (const until of this.unavailableUntil.values())
        if (until > now) next = Math.min(next, until);
    if (!Number.isFinite(next)) return;
    next = Math.max(next, now + 1);
    if (this.alarmAt !== null && this.alarmAt <= next && this.alarmAt > now) return;
    this.alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }

  // ---------------------------------------------------------------- dispatch

  /** Starts a dispatch pass, or asks the running one to go round again. */
  private kick(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    queueMicrotask(() => {
      try {
        do {
          this.pumpAgain = false;
          this.dispatchPass(Date.now());
        } while (this.pumpAgain);
      } catch (e) {
        log({ event: 'dispatch_error', queue: this.queue, error: String(e) });
      } finally {
        this.pumping = false;
      }
    });
  }

  /**
   * Pops jobs in heap order and gives each to the next idle node, round-robin, that can run it. A job
   * no idle node can run keeps its place (it is pushed back with its own key and seq).
   */
  private dispatchPass(now: number): void {
    if (this.ready.size === 0) return;
    const live = this.store.workers().filter((w) => w.status === 'active' && this.isLive(w, now));
    // A pull node is idle only while one of its lease requests waits here (pull-mode block below).
    const nodes = live.filter(
      (w) =>
        (this.unavailableUntil.get(w.id) ?? 0) <= now &&
        (w.mode !== 'pull' || this.pullWaiters.has(w.id)),
    );
    const free = new Map(
      nodes.map((w) => [
        w.id,
        Math.min(
          // A pull node's prefetch: leases it holds beyond its slots, queued to start at once.
          w.capacity + (this.pullWaiters.get(w.id)?.prefetch ?? 0) - this.slots(w.id).size,
          this.pullWaiters.get(w.id)?.max ?? Infinity,
        ),
      ]),
    );
    let totalFree = [...free.values()].reduce((s, n) => s + Math.max(0, n), 0);
    if (totalFree === 0) return;
    const groups = new Map<string, { node: WorkerRow; jobs: DispatchedJob[] }>();
    const deferred: ReadyEntry[] = [];
    const stmts: Stmt[] = [];
    while (totalFree > 0 && this.ready.size > 0 && deferred.length < MAX_DEFERRED_PER_PASS) {
      const entry = this.ready.pop(now)!;
      const job = this.store.jobBySeq(entry.seq);
      if (!job || job.status !== 'queued') continue;
      // Concurrency key at its limit: park the job so it blocks nothing; it returns when a slot frees.
      if (!this.gate.canStart(job.concurrency_key, job.concurrency_limit)) {
        this.gate.park(job.concurrency_key!, job.seq);
        continue;
      }
      // No live node could ever run it: report it rather than let it wait silently.
      if (!live.some((w) => canRun(w, job))) {
        this.unroutable.set(job.seq, unroutableReason(job, live));
        continue;
      }
      let chosen: WorkerRow | null = null;
      for (let k = 0; k < nodes.length; k++) {
        const node = nodes[(this.rr + k) % nodes.length];
        if ((free.get(node.id) ?? 0) > 0 && canRun(node, job)) {
          chosen = node;
          this.rr = (this.rr + k + 1) % nodes.length;
          break;
        }
      }
      if (!chosen) {
        deferred.push(entry);
        continue;
      }
      free.set(chosen.id, free.get(chosen.id)! - 1);
      totalFree--;
      this.telemetry.dispatched(now - (job.next_attempt_at ?? job.created_at), job.priority, now);
      job.status = transition(job.status, 'running');
      job.attempts++;
      job.token = newToken();
      job.worker_id = chosen.id;
      job.started_at = now;
      // A lease beyond the node's slots (a pull node's prefetch) first waits for the jobs ahead of it.
      const rounds = Math.ceil(
        (this.slots(chosen.id).size + 1 - chosen.capacity) / chosen.capacity,
      );
      const waits = Math.max(0, rounds) * job.timeout_sec;
      job.lease_deadline = now + (job.timeout_sec + waits + this.config.LEASE_GRACE_SEC) * 1000;
      this.store.saveJob(job);
      this.holdLease(job);
      this.slots(chosen.id).add(job.id);
      this.gate.started(job.concurrency_key);
      stmts.push(
        this.project(job.id, {
          status: 'running',
          attempts: job.attempts,
          workerId: chosen.id,
          startedAt: now,
          nextAttemptAt: null,
          updatedAt: now,
        }),
      );
      const group = groups.get(chosen.id) ?? { node: chosen, jobs: [] };
      group.jobs.push({
        job_id: job.id,
        attempt: job.attempts,
        token: job.token,
        queue: this.queue,
        type: job.type,
        payload: JSON.parse(job.payload),
        timeout_sec: job.timeout_sec,
        executor: job.executor,
        ...(job.payload_blob ? { payload_blob: job.payload_blob } : {}),
        ...(job.traceparent ? { traceparent: job.traceparent } : {}),
        ...(job.tracestate ? { tracestate: job.tracestate } : {}),
      });
      groups.set(chosen.id, group);
    }
    for (const e of deferred) this.ready.push(e);
    void this.persist(stmts);
    for (const { node, jobs } of groups.values()) {
      if (node.mode === 'pull') this.deliverPulled(node, jobs);
      else void this.send(node, jobs);
    }
    if (groups.size) void this.armAlarm();
  }

  private retryUnroutable(): void {
    for (const seq of this.unroutable.keys()) {
      const job = this.store.jobBySeq(seq);
      if (job && job.status === 'queued') this.enqueue(job);
    }
    this.unroutable.clear();
  }

  private enqueue(job: ActiveJob): void {
    this.ready.push({
      seq: job.seq,
      tenant: job.tenant,
      priority: job.priority,
      createdAt: job.created_at,
    });
  }

  private async send(node: WorkerRow, unsigned: DispatchedJob[]): Promise<void> {
    const jobs = await withBlobUrls(unsigned, this.config.WORKER_TOKEN, Date.now());
    const started = Date.now();
    let res: Response;
    try {
      res = await this.outbound.post(
        node.url,
        '/run',
        { worker_id: node.id, jobs },
        { key: node.sign_key },
      );
    } catch (e) {
      return this.dispatchFailed(node, jobs, `dispatch to ${node.id} failed: ${errorText(e)}`);
    }
    const now = Date.now();
    if (res.status === 202 || res.status === 200) {
      const parsed = DispatchAnswer.safeParse(await res.json().catch(() => null));
      this.dispatchFailures.delete(node.id);
      const rejected = parsed.success ? parsed.data.rejected : [];
      const rejectedIds = new Set(
        rejected.filter((r) => r.reason !== 'duplicate').map((r) => r.job_id),
      );
      for (const j of jobs) {
        if (rejectedIds.has(j.job_id)) continue;
        log({
          level: 'debug',
          event: 'job_dispatched',
          job_id: j.job_id,
          worker_id: node.id,
          attempt: j.attempt,
          latency_ms: now - started,
          queue: this.queue,
        });
      }
      if (rejectedIds.size)
        this.handBack(
          jobs.filter((j) => rejectedIds.has(j.job_id)),
          `node ${node.id} declined`,
          now,
        );
    } else if (res.status === 429 || res.status === 503) {
      // Busy or draining: not the job's fault, so no retry is spent; the node is skipped for a while.
      const wait = retryAfterMs(res.headers.get('retry-after'), now) ?? 1000;
      this.unavailableUntil.set(node.id, now + wait);
      this.handBack(jobs, `node ${node.id} answered ${res.status}`, now);
    } else {
      const text = (await res.text().catch(() => '')).slice(0, 200);
      return this.dispatchFailed(
        node,
        jobs,
        `dispatch to ${node.id} failed: HTTP ${res.status} ${text}`.trim(),
      );
    }
    this.kick();
    await this.armAlarm();
  }

  private async dispatchFailed(
    node: WorkerRow,
    jobs: DispatchedJob[],
    error: string,
  ): Promise<void> {
    const now = Date.now();
    const failures = (this.dispatchFailures.get(node.id) ?? 0) + 1;
    this.dispatchFailures.set(node.id, failures);
    this.unavailableUntil.set(node.id, now + retryDelayMs(failures - 1, this.backoff()));
    log({
      event: 'dispatch_failed',
      worker_id: node.id,
      jobs: jobs.length,
      error,
      queue: this.queue,
    });
    const stmts: Stmt[] = [];
    for (const j of jobs) {
      const job = this.store.jobById(j.job_id);
      if (!job || job.status !== 'running' || job.attempts !== j.attempt || job.token !== j.token)
        continue;
      stmts.push(
        this.attemptEnded(job, 'failed', now, error),
        this.failAttempt(job, error, false, now, null),
      );
    }
    await this.persist(stmts);
    this.kick();
    await this.armAlarm();
  }

  /** Dispatched jobs a node did not take go back to the queue in their old place, at no cost. */
  private handBack(jobs: DispatchedJob[], reason: string, now: number): void {
    const stmts: Stmt[] = [];
    for (const j of jobs) {
      const job = this.store.jobById(j.job_id);
      if (!job || job.status !== 'running' || job.attempts !== j.attempt || job.token !== j.token)
        continue;
      stmts.push(this.attemptEnded(job, 'lease_lost', now, reason), this.requeue(job, reason, now));
    }
    void this.persist(stmts);
  }

  /** Puts every job a node holds back in the queue; `leaseLost` counts it against the job's lease-loss bound. */
  private handBackAll(workerId: string, reason: string, leaseLost: boolean, now: number): number {
    const stmts: Stmt[] = [];
    for (const job of this.store.runningJobsOf(workerId))
      stmts.push(
        this.attemptEnded(job, 'node_gone', now, reason),
        leaseLost ? this.loseLease(job, reason, now) : this.requeue(job, reason, now),
      );
    void this.persist(stmts);
    return stmts.length / 2;
  }

  /** The job's node lost it: back to the queue at no retry cost, up to MAX_LEASE_LOSSES times. */
  private loseLease(job: ActiveJob, reason: string, now: number): Stmt {
    if (job.lease_losses + 1 >= this.config.MAX_LEASE_LOSSES)
      return this.failAttempt(
        job,
        `lost its lease ${job.lease_losses + 1} times (${reason})`,
        true,
        now,
        null,
      );
    job.lease_losses++;
    return this.requeue(job, reason, now);
  }

  private requeue(job: ActiveJob, reason: string, now: number): Stmt {
    job.status = transition(job.status, 'queued');
    this.release(job);
    job.last_error = reason;
    this.store.saveJob(job);
    this.enqueue(job);
    this.telemetry.requeued(now);
    log({
      event: 'job_requeued',
      job_id: job.id,
      worker_id: job.worker_id,
      attempt: job.attempts,
      reason,
      queue: this.queue,
    });
    return this.project(job.id, { status: 'queued', updatedAt: now, error: reason });
  }

  /**
   * The history row of the attempt that holds `job` (migrations/0010): built before the transition
   * that ends it, and persisted in the same turn, so the history commits with the state change.
   */
  private attemptEnded(
    job: ActiveJob,
    reason: AttemptEndReason,
    now: number,
    error: string | null,
    report?: ResultReport,
  ): Stmt {
    return recordAttempt(this.db, {
      jobId: job.id,
      attempt: job.attempts,
      workerId: job.worker_id,
      executor: report?.executor ?? null,
      startedAt: job.started_at,
      finishedAt: now,
      exitCode: report?.exit_code ?? null,
      error: error?.slice(0, 2000) ?? null,
      timedOut: reason === 'timed_out',
      reason,
    });
  }

  /** A failed attempt: back off and retry while the budget lasts, else the job fails for good. */
  private failAttempt(
    job: ActiveJob,
    error: string,
    permanent: boolean,
    now: number,
    resultText: string | null,
  ): Stmt {
    const outcome = afterFailure(job.failures, job.max_retries, permanent);
    job.failures = outcome.failures;
    job.last_error = error.slice(0, 2000);
    this.release(job);
    const patch: JobPatch = { updatedAt: now, error: job.last_error, result: resultText };
    if (outcome.next === 'retrying') {
      job.status = transition(job.status, 'retrying');
      job.next_attempt_at = now + retryDelayMs(job.failures, this.backoff(job));
      this.store.saveJob(job);
      this.timers.push(job.next_attempt_at, job.seq);
      this.telemetry.retried(now);
      log({
        event: 'job_retry_scheduled',
        job_id: job.id,
        worker_id: job.worker_id,
        attempt: job.attempts,
        failures: job.failures,
        next_attempt_at: job.next_attempt_at,
        error: job.last_error,
        queue: this.queue,
      });
      return this.project(job.id, {
        ...patch,
        status: 'retrying',
        nextAttemptAt: job.next_attempt_at,
      });
    }
    job.status = transition(job.status, 'failed');
    this.store.deleteJob(job.seq);
    const callback = this.finished(
      job,
      'failed',
      resultText ? (JSON.parse(resultText) as JobResult) : null,
      job.last_error,
      now,
    );
    // After the failure itself is written: the writer commits in order.
    if (callback.length) queueMicrotask(() => void this.persist(callback));
    this.telemetry.failed(now);
    log({
      event: 'job_failed',
      job_id: job.id,
      worker_id: job.worker_id,
      attempt: job.attempts,
      error: job.last_error,
      queue: this.queue,
    });
    return this.project(job.id, {
      ...patch,
      status: 'failed',
      finishedAt: now,
      nextAttemptAt: null,
    });
  }

  /** A job reached a terminal state: queue its callback, if it has one, and start delivering. */
  private finished(
    job: ActiveJob,
    status: 'succeeded' | 'failed' | 'cancelled',
    result: JobResult | null,
    error: string | null,
    now: number,
  ): Stmt[] {
    this.deps.record(job.id, job.tenant, status, now);
    return [
      ...this.callbackFor(job, status, result, error, now),
      ...this.settleDependents(job.id, status, now),
    ];
  }

  private callbackFor(
    job: ActiveJob,
    status: 'succeeded' | 'failed' | 'cancelled',
    result: JobResult | null,
    error: string | null,
    now: number,
  ): Stmt[] {
    const url =
      status === 'succeeded' ? job.callback_url : (job.failure_callback_url ?? job.callback_url);
    if (!url) return [];
    const event = `job.${status}`;
    const payload = {
      event,
      job: {
        id: job.id,
        tenant: job.tenant,
        queue: this.queue,
        type: job.type,
        status,
        attempts: job.attempts,
        result,
        error,
        finished_at: new Date(now).toISOString(),
      },
    };
    const stmt = this.callbacks.enqueue(job.id, url, event, payload, now);
    queueMicrotask(() => void this.callbacks.deliverDue(Date.now()).then(() => this.armAlarm()));
    return [stmt];
  }

  // ---------------------------------------------------------------- dependencies

  /** D1's view of the dependencies this object neither holds nor remembers finishing. */
  private async lookUpDependencies(
    jobs: { id: string; depends_on?: string[] | null }[],
  ): Promise<Map<string, DependencyRow>> {
    const own = new Set(jobs.map((j) => j.id));
    const unknown = new Set<string>();
    for (const j of jobs)
      for (const id of j.depends_on ?? [])
        if (!own.has(id) && !this.store.jobById(id) && !this.deps.outcome(id)) unknown.add(id);
    return dependencyRows(this.db, [...unknown]);
  }

  /** What is known of a job another waits for: active here, finished here, or else as D1 has it. */
  private dependency(id: string, looked: Map<string, DependencyRow>): DependencyRow | null {
    return this.store.jobById(id) ?? this.deps.outcome(id) ?? looked.get(id) ?? null;
  }

  /**
   * What each job still waits for. A dependency of another tenant, or one nobody knows, is not found;
   * one that already failed or was cancelled means the job could never run, so it is refused.
   */
  private judgeDependencies(
    jobs: NewJob[],
    looked: Map<string, DependencyRow>,
    fieldPrefix: string,
  ): Outcome<{ pending: Set<string>[] }> {
    const own = new Set(jobs.map((j) => j.id));
    const pending = jobs.map(() => new Set<string>());
    for (const [i, job] of jobs.entries()) {
      for (const [k, id] of (job.depends_on ?? []).entries()) {
        const field = `${fieldPrefix ? `${fieldPrefix}.${i}.` : ''}depends_on.${k}`;
        const refuse = (status: 404 | 409, code: string, message: string): Refusal => ({
          ok: false,
          status,
          code,
          message: `${field}: ${message}`,
          details: { problems: [{ field, message }] },
        });
        if (own.has(id)) {
          pending[i].add(id);
          continue;
        }
        const known = this.dependency(id, looked);
        if (!known || known.tenant !== job.tenant)
          return refuse(404, 'dependency_not_found', `no job ${id}`);
        if (known.status === 'failed' || known.status === 'cancelled')
          return refuse(
            409,
            'dependency_failed',
            `job ${id} is ${known.status}, so this job could never run`,
          );
        if (known.status !== 'succeeded') pending[i].add(id);
      }
    }
    return { ok: true, pending };
  }

  /**
   * A job finished: its waiters that have nothing left to wait for are queued (or scheduled, if their
   * run_at is still ahead); if it did not succeed, its waiters are cancelled, and theirs in turn.
   */
  private settleDependents(rootId: string, rootStatus: JobStatus, now: number): Stmt[] {
    const stmts: Stmt[] = [];
    const todo: Array<[string, JobStatus]> = [[rootId, rootStatus]];
    while (todo.length > 0) {
      const [id, status] = todo.pop()!;
      for (const seq of this.deps.release(id)) {
        const waiter = this.store.jobBySeq(seq);
        if (!waiter || waiter.status !== 'waiting') continue;
        if (status === 'succeeded') {
          if (this.deps.pending(seq) === 0) stmts.push(this.wake(waiter, now));
          continue;
        }
        const reason = `dependency ${id} ${status === 'failed' ? 'failed' : 'was cancelled'}`;
        waiter.status = transition(waiter.status, 'cancelled');
        this.deps.forget(seq);
        this.store.deleteJob(seq);
        this.deps.record(waiter.id, waiter.tenant, 'cancelled', now);
        this.telemetry.cancelled(now);
        log({
          event: 'job_cancelled',
          job_id: waiter.id,
          previous_status: 'waiting',
          reason,
          queue: this.queue,
        });
        stmts.push(
          this.project(waiter.id, {
            status: 'cancelled',
            finishedAt: now,
            updatedAt: now,
            nextAttemptAt: null,
            error: reason,
          }),
        );
        stmts.push(...this.callbackFor(waiter, 'cancelled', null, reason, now));
        todo.push([waiter.id, 'cancelled']);
      }
    }
    return stmts;
  }

  /** Every dependency of a waiting job succeeded: it joins the queue (or its timer, if run_at is ahead). */
  private wake(job: ActiveJob, now: number): Stmt {
    if (job.next_attempt_at !== null && job.next_attempt_at > now) {
      job.status = transition(job.status, 'scheduled');
      this.store.saveJob(job);
      this.timers.push(job.next_attempt_at, job.seq);
      void this.armAlarm();
      return this.project(job.id, {
        status: 'scheduled',
        nextAttemptAt: job.next_attempt_at,
        updatedAt: now,
      });
    }
    job.status = transition(job.status, 'queued');
    job.next_attempt_at = null;
    this.store.saveJob(job);
    this.enqueue(job);
    this.kick();
    log({ event: 'job_released', job_id: job.id, queue: this.queue });
    return this.project(job.id, { status: 'queued', nextAttemptAt: null, updatedAt: now });
  }

  /** Frees the node slot and voids the attempt's token, so a late answer from it is refused. */
  private release(job: ActiveJob): void {
    if (job.token !== null) {
      // It was running: free its node slot and its concurrency-key slot.
      if (job.worker_id) this.running.get(job.worker_id)?.delete(job.id);
      this.gate.finished(job.concurrency_key);
      for (
        let seq = this.gate.unpark(job.concurrency_key);
        seq !== -1;
        seq = this.gate.unpark(job.concurrency_key)
      ) {
        const parked = this.store.jobBySeq(seq);
        if (parked && parked.status === 'queued') {
          this.enqueue(parked);
          break;
        }
      }
    }
    job.token = null;
    job.lease_deadline = null;
    this.dropLease(job);
  }

  private holdLease(job: ActiveJob): void {
    this.leases.push(job.lease_deadline!, job.seq);
    this.liveLeases.set(job.seq, job.lease_deadline!);
  }

  /**
   * A lease ended before its deadline. Its heap entry would otherwise stay until that deadline and
   * wake the alarm for nothing: once stale entries outnumber live ones, the heap is rebuilt from the
   * live ones (O(live), after at least as many finishes, so O(1) a job).
   */
  private dropLease(job: ActiveJob): void {
    if (!this.liveLeases.delete(job.seq)) return;
    if (this.leases.size - this.liveLeases.size <= this.liveLeases.size) return;
    this.leases.clear();
    for (const [seq, deadline] of this.liveLeases) this.leases.push(deadline, seq);
  }

  private killOnNode(job: ActiveJob): void {
    const node = job.worker_id ? this.store.worker(job.worker_id) : undefined;
    // A pull node cannot be reached: it hears of the lease in its next heartbeat's `kill` list.
    if (!node || !job.token || node.mode === 'pull') return;
    const lease = { job_id: job.id, attempt: job.attempts, token: job.token };
    // Best effort: if the node misses this, its next heartbeat is answered with the lease to kill.
    void this.outbound
      .post(
        node.url,
        '/cancel',
        { worker_id: node.id, jobs: [lease] },
        { timeoutMs: 5000, key: node.sign_key },
      )
      .then((res) =>
        log({
          event: 'job_kill_sent',
          job_id: job.id,
          worker_id: node.id,
          attempt: lease.attempt,
          status: res.status,
        }),
      )
      .catch((e) =>
        log({ event: 'job_kill_failed', job_id: job.id, worker_id: node.id, error: errorText(e) }),
      );
  }

  /**
   * Writes to D1 through the outbox. The statements are logged in the caller's synchronous turn, so
   * they commit with the state change they record; the outbox writes them in order. Resolves when D1
   * has them, or after PERSIST_WAIT_MS (they land later, in order): callers that answer a client
   * wait, so a read of D1 after the answer sees the change. Never throws.
   */
  private async persist(stmts: Stmt[]): Promise<boolean> {
    if (stmts.length === 0) return true;
    return this.outbox.landed(this.outbox.add(stmts), PERSIST_WAIT_MS);
  }

  /** A job's D1 row as of this change: versioned, so an older write landing later cannot undo it. */
  private project(id: string, patch: JobPatch): Stmt {
    return updateJob(this.db, id, { ...patch, version: this.outbox.version() });
  }

  private slots(workerId: string): Set<string> {
    let s = this.running.get(workerId);
    if (!s) this.running.set(workerId, (s = new Set()));
    return s;
  }

  private isLive(w: WorkerRow, now: number): boolean {
    return now - w.last_heartbeat_at <= this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
  }

  /** The job's own retry policy (`backoff` on submit) over the queue's defaults. */
  private backoff(job?: ActiveJob): BackoffPolicy {
    const own = job?.backoff ? (JSON.parse(job.backoff) as RetryBackoff) : null;
    return {
      type: own?.type ?? 'exponential',
      baseSec: own?.base_sec ?? this.config.BACKOFF_BASE_SEC,
      maxSec: own?.max_sec ?? this.config.BACKOFF_MAX_SEC,
      jitter: own?.jitter ?? false,
    };
  }

  private view(w: WorkerRow, now: number): WorkerView {
    return {
      id: w.id,
      mode: w.mode,
      url: w.url,
      status: w.status,
      capacity: w.capacity,
      running: this.slots(w.id).size,
      types: w.types,
      executors: w.executors,
      queues: w.queues,
      labels: w.labels,
      registered_at: new Date(w.registered_at).toISOString(),
      last_heartbeat_at: new Date(w.last_heartbeat_at).toISOString(),
      heartbeat_age_sec: Math.max(0, (now - w.last_heartbeat_at) / 1000),
    };
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
      this.queueRecorded = false;
      if (verdict === 'retire') return { retired: true, cleared: false };
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      await this.load(); // empty tables again, for whatever names the queue next
      log({ event: 'queue_storage_cleared', queue });
      return { retired: true, cleared: true };
    });
  }

  /** Stats, telemetry and autoscaling advice (telemetry.ts); a changed advice is logged and sent to SCALE_WEBHOOK_URL. */
  async observe(queue: string): Promise<{ stats: QueueStats; telemetry: TelemetrySnapshot }> {
    const stats = await this.stats(queue);
    const { telemetry, announcement } = this.telemetry.observe(
      Date.now(),
      queue,
      stats,
      this.config,
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
  ): Promise<Outcome<{ verdicts: ResultVerdict[] }>> {
    this.bind(queue);
    const workerId = reports[0]?.worker_id;
    if (workerId !== undefined && !this.store.worker(workerId))
      return {
        ok: false,
        status: 404,
        code: 'worker_unknown',
        message: `worker ${workerId} is not registered (it may have been reaped): register again`,
      };
    const outcomes = await Promise.all(
      reports.map(({ job_id, ...report }) => this.reportResult(queue, job_id, report)),
    );
    return { ok: true, verdicts: outcomes.map((o, i) => verdictOf(reports[i].job_id, o)) };
  }
}

function verdictOf(jobId: string, o: Outcome<{ status: string }>): ResultVerdict {
  return o.ok
    ? { job_id: jobId, verdict: 'accepted', status: o.status }
    : { job_id: jobId, verdict: 'refused', code: o.code, message: o.message };
}

const MAX_DEFERRED_PER_PASS = 1000;
const OUTBOX_RETRY_MS = 5000;
/** How long a submission waits for D1 to take its jobs before it undoes them (503). */
const SUBMIT_WAIT_MS = 3000;
/** How long a transition answered to a client waits for D1 before answering anyway. */
const PERSIST_WAIT_MS = 1000;
/** How often finished jobs' outcomes older than RETENTION_DAYS are forgotten. */
const PRUNE_EVERY_MS = 3_600_000;

/** A pull node's lease request, waiting in `lease()` for dispatchPass to give it jobs. */
interface PullWaiter {
  requestId: string;
  max: number;
  /** Leases the node may hold beyond its capacity (wire version 2). */
  prefetch: number;
  resolve: (jobs: DispatchedJob[]) => void;
  timer: ReturnType<typeof setTimeout>;
}

function countValues(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function canRun(node: WorkerRow, job: ActiveJob): boolean {
  if (node.types && !node.types.includes(job.type)) return false;
  if (job.executor && !node.executors.includes(job.executor)) return false;
  if (job.requires)
    for (const selector of JSON.parse(job.requires) as string[])
      if (!labelMatches(node.labels, selector)) return false;
  return true;
}

function labelMatches(labels: Record<string, string>, selector: string): boolean {
  const eq = selector.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, selector);
  return labels[selector.slice(0, eq)] === selector.slice(eq + 1);
}

function unroutableReason(job: ActiveJob, live: WorkerRow[]): string {
  if (live.length === 0) return 'no live worker node';
  if (!live.some((w) => !w.types || w.types.includes(job.type)))
    return `no live node runs type ${job.type}`;
  if (job.executor && !live.some((w) => w.executors.includes(job.executor!)))
    return `no live node offers executor ${job.executor}`;
  return `no live node has labels ${job.requires}`;
}

/**
 * A result whose stored form fits: it travels as a JSON string inside the outbox's JSON parameters,
 * where every escape grows again, and one storage value holds at most 2 MB. Past the bound the output
 * is kept as the start of stdout, as text, and marked truncated (the whole output goes to R2 when the
 * node was given an upload URL: `output_blob`).
 */
function boundedResult(result: JobResult, stdout: string): { result: JobResult; text: string } {
  let text = JSON.stringify(result);
  for (
    let keep = Math.min(stdout.length, MAX_STORED_STDOUT);
    storedBytes(text) > MAX_STORED_RESULT_BYTES;
    keep >>= 1
  ) {
    result = { ...result, output: trim(stdout.slice(0, keep), keep - 1), output_truncated: true };
    text = JSON.stringify(result);
    if (keep === 0) break;
  }
  return { result, text };
}

function storedBytes(text: string): number {
  return new TextEncoder().encode(JSON.stringify(text)).length;
}

/** The object's state of an active job as its D1 row shows it. */
function stateOf(job: ActiveJob, now: number): JobPatch {
  return {
    status: job.status,
    attempts: job.attempts,
    workerId: job.worker_id,
    startedAt: job.started_at,
    nextAttemptAt: job.next_attempt_at,
    error: job.last_error,
    updatedAt: now,
  };
}

function toResult(r: ResultReport): JobResult {
  let output: unknown;
  const line = r.stdout.trim();
  if (line) {
    try {
      output = JSON.parse(line);
    } catch {
      output = trim(r.stdout, MAX_STORED_STDOUT);
    }
  } else output = null;
  return {
    executor: r.executor,
    exit_code: r.exit_code,
    duration_ms: Math.round(r.duration_ms),
    output,
    stderr: trim(r.stderr, MAX_STORED_STDERR),
    timed_out: r.timed_out,
    // Only this fenced report links an output blob, so a stale attempt's upload is never shown.
    ...(r.output_blob ? { output_blob: { ...r.output_blob, attempt: r.attempt } } : {}),
  };
}

function describeFailure(r: ResultReport, timeoutSec: number): string {
  if (r.error) return r.error;
  if (r.timed_out) return `timed out after ${timeoutSec}s`;
  const last = r.stderr.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message)
      return `exit code ${r.exit_code}: ${parsed.error.code ?? 'error'}: ${parsed.error.message}`;
  } catch {
    /* not JSON: fall through */
  }
  return `exit code ${r.exit_code}${last ? `: ${last.slice(0, 500)}` : ''}`;
}

function trim(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}\n[truncated]` : s;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
