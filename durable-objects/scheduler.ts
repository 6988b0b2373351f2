import { DurableObject } from 'cloudflare:workers';
import { newToken } from '../src/core/ids';
import { retryDelayMs, type BackoffPolicy } from '../src/core/backoff';
import { QueueEngine } from '../src/core/engine/engine';
import type { Effect, EngineSettings, JobStore } from '../src/core/engine/effects';
import type { Claim } from '../src/core/engine/job';
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
import type {
  HeartbeatAnswer,
  Lease,
  WorkerHeartbeat,
  WorkerRegister,
  WorkerView,
} from '../src/protocol/worker';
import type { JobResult } from '../src/protocol/job';
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
import { recordAttempt } from '../src/db/job-attempts';
import { REVOKED_KEY_MEMORY_MS } from '../src/core/node-key';
import type {
  NewJob,
  NodeKeyRef,
  Outcome,
  QueueStats,
  Refusal,
} from '../src/protocol/queue-object';

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
  /** The queue's decisions (src/core/engine): this object loads its state and carries out its effects. */
  private engine!: QueueEngine;
  private settingsOf: { config: Config; settings: EngineSettings } | null = null;
  /** When outcomes older than retention were last pruned. */
  private prunedAt = 0;
  /** Nodes that failed a dispatch or asked us to wait (Retry-After) are skipped until then. */
  private readonly unavailableUntil = new Map<string, number>();
  private readonly dispatchFailures = new Map<string, number>();
  /** Pull nodes with a lease request waiting (at most one each): only they are idle for dispatchPass. */
  private readonly pullWaiters = new Map<string, PullWaiter>();
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
    const store = this.store;
    const jobs: JobStore = {
      bySeq: (seq) => store.jobBySeq(seq),
      byId: (id) => store.jobById(id),
      save: (job) => store.saveJob(job),
      delete: (seq) => store.deleteJob(seq),
      runningOf: (nodeId) => store.runningJobsOf(nodeId),
    };
    this.engine = new QueueEngine(jobs, () => this.settings(), newToken, this.telemetry);
    this.engine.restore(
      store.queuedEntries(),
      (['scheduled', 'retrying'] as const).flatMap((st) => store.jobKeys(st, 'next_attempt_at')),
      store.jobsWithStatus('running'),
    );
    // What the platform holds, not what was last asked for: a restart of the runtime may have lost it.
    this.alarmAt = await this.ctx.storage.getAlarm();
  }

  /** The engine's view of the configuration, rebuilt only when the configuration object changes. */
  private settings(): EngineSettings {
    const config = this.config;
    if (this.settingsOf?.config !== config) {
      const queue = this.queue;
      this.settingsOf = {
        config,
        settings: {
          queue,
          leaseGraceSec: config.LEASE_GRACE_SEC,
          maxLeaseLosses: config.MAX_LEASE_LOSSES,
          dispatchTimeoutMs: config.DISPATCH_TIMEOUT_MS,
          maxStarvationMs: config.MAX_STARVATION_SEC * 1000,
          weightOf: (tenant) => config.TENANT_WEIGHTS[tenant] ?? 1,
          backoff: this.backoff(),
        },
      };
    }
    this.settingsOf.settings.queue = this.queue;
    return this.settingsOf.settings;
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
    for (const a of actives) this.engine.accept(a);
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
    const now = Date.now();
    const done = this.engine.cancel(jobId, now);
    if (!done)
      return {
        ok: false,
        status: 409,
        code: 'not_active',
        message: 'the job is not active in its queue',
      };
    await this.persist(this.apply(done.effects, now));
    this.kick();
    await this.armAlarm();
    return { ok: true, previous: done.previous };
  }

  async reportResult(
    queue: string,
    jobId: string,
    report: ResultReport,
  ): Promise<Outcome<{ status: string }>> {
    this.bind(queue);
    const now = Date.now();
    const verdict = this.engine.report({ ...report, job_id: jobId }, report, now);
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
    const stmts = this.apply(verdict.effects, now);
    // The slot is free in this object's state already: dispatch the next job while D1 commits.
    this.kick();
    await this.persist(stmts);
    await this.armAlarm();
    return { ok: true, status: verdict.status };
  }

  /** Progress and log lines from the attempt that holds the job; anything else is stale (409). */
  async reportProgress(
    queue: string,
    jobId: string,
    report: ProgressReport,
  ): Promise<Outcome<{ logged: number }>> {
    this.bind(queue);
    if (!this.engine.held({ ...report, job_id: jobId })) {
      const job = this.store.jobById(jobId);
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
      const entries = this.engine.peek(now, window);
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
    const unroutable = [...this.engine.unroutableReasons()].flatMap(([seq, why]) =>
      mine(seq) ? [why] : [],
    );
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
            ? workers.reduce((s, w) => s + this.engine.leases.running(w.id), 0)
            : (byStatus.running ?? 0),
      },
      unroutable: { count: unroutable.length, reasons: countValues(unroutable) },
      parked_by_concurrency_key:
        tenant === undefined
          ? this.engine.parkedSize
          : [...this.engine.parkedSeqs()].filter(mine).length,
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
    this.engine.retryUnroutable();
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
    const { kill, effects } = this.engine.heartbeat(workerId, hb.running, now);
    void this.persist(this.apply(effects, now));
    this.kick();
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
    this.engine.forgetNode(workerId);
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
      this.engine.forgetNode(w.id);
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
    req: { max_jobs?: number; wait_ms: number; request_id: string },
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
    if (req.max_jobs !== undefined && req.max_jobs > row.capacity) {
      const message = `at most the node's capacity, ${row.capacity}`;
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
    const claims = leases.map((l) => ({ ...l, worker_id: workerId }));
    const effects = this.engine.handBack(claims, `node ${workerId} asked for fewer jobs`, now);
    await this.persist(this.apply(effects, now));
    this.kick();
    await this.armAlarm();
    return { requeued: effects.filter((e) => e.kind === 'attempt').length };
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
      else this.engine.accept(job);
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
    void this.persist(this.apply(this.engine.tick(now), now));
    this.kick();
    void this.callbacks.deliverDue(now).then(() => this.armAlarm());
  }

  private reap(now: number): void {
    const timeoutMs = this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
    for (const w of this.store.workers()) {
      if (now - w.last_heartbeat_at <= timeoutMs) continue;
      const requeued = this.handBackAll(w.id, 'worker stopped heart-beating', true, now);
      this.store.deleteWorker(w.id);
      this.engine.forgetNode(w.id);
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

  private async armAlarm(): Promise<void> {
    const now = Date.now();
    let next = Math.min(
      this.engine.nextDeadline(),
      this.callbacks.nextAt(),
      this.outbox.stalledUntil ?? Infinity,
    );
    const timeoutMs = this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
    for (const w of this.store.workers())
      next = Math.min(next, w.last_heartbeat_at + timeoutMs + 1);
    if (this.engine.queuedInMemory > 0)
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
   * Offers the engine every node that can take jobs now: live, active, not backing off, and for a
   * pull node only while one of its lease requests waits here. Persists the pass, then sends.
   */
  private dispatchPass(now: number): void {
    if (this.engine.queuedInMemory === 0) return;
    const live = this.store.workers().filter((w) => w.status === 'active' && this.isLive(w, now));
    const offers = live
      .filter(
        (w) =>
          (this.unavailableUntil.get(w.id) ?? 0) <= now &&
          (w.mode !== 'pull' || this.pullWaiters.has(w.id)),
      )
      .map((node) => ({ node, max: this.pullWaiters.get(node.id)?.max ?? Infinity }));
    if (offers.length === 0) return;
    const effects = this.engine.dispatch(now, live, offers);
    void this.persist(this.apply(effects, now));
    let sent = false;
    for (const e of effects) {
      if (e.kind !== 'dispatch') continue;
      const node = this.store.worker(e.nodeId)!;
      if (node.mode === 'pull') this.deliverPulled(node, e.jobs);
      else void this.send(node, e.jobs);
      sent = true;
    }
    if (sent) void this.armAlarm();
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
    await this.persist(this.apply(this.engine.failDispatch(jobs.map(claimOf), error, now), now));
    this.kick();
    await this.armAlarm();
  }

  /** Dispatched jobs a node did not take go back to the queue in their old place, at no cost. */
  private handBack(jobs: DispatchedJob[], reason: string, now: number): void {
    void this.persist(this.apply(this.engine.handBack(jobs.map(claimOf), reason, now), now));
  }

  /** Puts every job a node holds back in the queue; `leaseLost` counts it against the job's lease-loss bound. */
  private handBackAll(workerId: string, reason: string, leaseLost: boolean, now: number): number {
    const { count, effects } = this.engine.handBackAll(workerId, reason, leaseLost, now);
    void this.persist(this.apply(effects, now));
    return count;
  }

  /**
   * Carries out the engine's effects (src/core/engine/effects.ts) except dispatches, which the
   * dispatch pass sends itself: returns the D1 statements, in order, for the caller to persist in
   * this same turn; logs; asks push nodes to kill; and settles finished jobs (callback, dependents).
   */
  private apply(effects: Effect[], now: number): Stmt[] {
    const stmts: Stmt[] = [];
    for (const e of effects) {
      if (e.kind === 'project') stmts.push(this.project(e.id, e.patch));
      else if (e.kind === 'attempt')
        stmts.push(
          recordAttempt(this.db, {
            jobId: e.jobId,
            attempt: e.attempt,
            workerId: e.workerId,
            executor: e.report?.executor ?? null,
            startedAt: e.startedAt,
            finishedAt: now,
            exitCode: e.report?.exit_code ?? null,
            error: e.error,
            timedOut: e.reason === 'timed_out',
            reason: e.reason,
          }),
        );
      else if (e.kind === 'finished') {
        this.deps.forget(e.job.seq);
        stmts.push(...this.finished(e.job, e.status, e.result, e.error, now));
      } else if (e.kind === 'kill') this.killOnNode(e.nodeId, e.lease);
      else if (e.kind === 'event') log(e.line);
    }
    return stmts;
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
   * run_at is still ahead); if it did not succeed, its waiters are cancelled, and theirs in turn
   * (through the `finished` effect of their cancellation).
   */
  private settleDependents(rootId: string, rootStatus: JobStatus, now: number): Stmt[] {
    const stmts: Stmt[] = [];
    for (const seq of this.deps.release(rootId)) {
      const waiter = this.store.jobBySeq(seq);
      if (!waiter || waiter.status !== 'waiting') continue;
      if (rootStatus === 'succeeded') {
        if (this.deps.pending(seq) > 0) continue;
        stmts.push(...this.apply(this.engine.wake(waiter, now), now));
        this.kick();
        void this.armAlarm();
        continue;
      }
      const reason = `dependency ${rootId} ${rootStatus === 'failed' ? 'failed' : 'was cancelled'}`;
      stmts.push(...this.apply(this.engine.cancelWaiting(waiter, reason, now), now));
    }
    return stmts;
  }

  /** Best effort: if a push node misses this, its next heartbeat is answered with the lease to kill. */
  private killOnNode(nodeId: string, lease: Lease): void {
    const node = this.store.worker(nodeId);
    // A pull node cannot be reached: it hears of the lease in its next heartbeat's `kill` list.
    if (!node || node.mode === 'pull') return;
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
          job_id: lease.job_id,
          worker_id: node.id,
          attempt: lease.attempt,
          status: res.status,
        }),
      )
      .catch((e) =>
        log({
          event: 'job_kill_failed',
          job_id: lease.job_id,
          worker_id: node.id,
          error: errorText(e),
        }),
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

  private isLive(w: WorkerRow, now: number): boolean {
    return now - w.last_heartbeat_at <= this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
  }

  /** The queue's default retry policy (a job's own `backoff` overrides it in the engine). */
  private backoff(): BackoffPolicy {
    return {
      type: 'exponential',
      baseSec: this.config.BACKOFF_BASE_SEC,
      maxSec: this.config.BACKOFF_MAX_SEC,
      jitter: false,
    };
  }

  private view(w: WorkerRow, now: number): WorkerView {
    return {
      id: w.id,
      mode: w.mode,
      url: w.url,
      status: w.status,
      capacity: w.capacity,
      running: this.engine.leases.running(w.id),
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
}

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
  resolve: (jobs: DispatchedJob[]) => void;
  timer: ReturnType<typeof setTimeout>;
}

function countValues(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** A dispatched job's attempt, as the node it went to holds it. */
function claimOf(j: DispatchedJob): Claim {
  return { job_id: j.job_id, attempt: j.attempt, token: j.token };
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

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
