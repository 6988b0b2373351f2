import { newToken } from '../src/core/ids';
import { type BackoffPolicy } from '../src/core/backoff';
import { QueueEngine } from '../src/core/engine/engine';
import type { Effect, EngineSettings, JobStore } from '../src/core/engine/effects';
import type { Claim } from '../src/core/engine/job';
import { configOf, type Config, type Env } from '../src/env';
import { dbOf, type Db } from '../src/db/client';
import { updateJob, type JobPatch, type Stmt } from '../src/db/write-jobs';
import type { JobRow } from '../src/db/schema';
import { finishedRowOf, jobRowOf } from '../src/db/job-rows';
import type { DispatchedJob } from '../src/protocol/dispatch';
import { log } from '../src/log';
import { Store, type WorkerRow } from './store';
import { Outbound } from './outbound';
import { Telemetry } from './telemetry';
import { Meter } from './metering';
import { CallbackDeliveries } from './callbacks';
import { Outbox } from './outbox';
import { Dependencies } from './dependencies';
import type { Finish, PullWaiter, ShellHooks } from './shell-contract';
import { recordAttempt } from '../src/db/job-attempts';
import { MAX_PREFETCH } from '../src/protocol/results';

/**
 * The state and duties a queue's object shares across its requests: its stores (jobs, outbox to D1,
 * dependencies, callbacks), the engine that decides, and what carries out the engine's effects
 * (apply, persist, the dispatch pass and its sends, the alarm). The Durable Object class
 * (scheduler.ts) holds one and delegates each request to the module of its concern.
 */
export class QueueShell {
  store!: Store;
  callbacks!: CallbackDeliveries;
  outbox!: Outbox;
  deps!: Dependencies;
  /** The queue's decisions (src/core/engine): the shell loads its state and carries out its effects. */
  engine!: QueueEngine;
  readonly db: Db;
  readonly outbound: Outbound;
  /** What this queue spends: storage and D1 statements, requests to nodes (metering.ts). */
  readonly meter = new Meter();
  readonly telemetry = new Telemetry(
    () => this.meter.snapshot(),
    () => this.outbox?.lag() ?? { seconds: 0, pending: 0 },
  );
  readonly d1: D1Database;
  private settingsOf: { config: Config; settings: EngineSettings } | null = null;
  /** When outcomes older than retention were last pruned. */
  private prunedAt = 0;
  /** When rate-limit starts no window needs were last forgotten. */
  private prunedStartsAt = 0;
  /** Nodes that failed a dispatch or asked us to wait (Retry-After) are skipped until then. */
  readonly unavailableUntil = new Map<string, number>();
  readonly dispatchFailures = new Map<string, number>();
  /** Pull nodes with a lease request waiting (at most one each): only they are idle for dispatchPass. */
  readonly pullWaiters = new Map<string, PullWaiter>();
  /** Wire version 3: each node's grant to this queue (exchange-desk.ts); none for older nodes. */
  readonly credits = new Map<string, number>();
  /** Push nodes whose results exchange is open: their dispatches ride its answer, not a push. */
  readonly carriers = new Map<string, DispatchedJob[]>();
  /**
   * The effects the shell hands up (wired by scheduler.ts), so this lower layer imports none of the
   * modules built on it: dispatches and kills to nodes (node-links.ts), answers to pull requests
   * (pull-desk.ts), a finished job's callback and dependents (settle.ts).
   */
  hooks!: ShellHooks;
  /**
   * Jobs that finished lately, as they ended: their rows are built only when read (freshRow), not
   * on the finish path of every job.
   */
  private readonly recent = new Map<string, Finish>();
  queue = 'default';
  queueRecorded = false;
  private faultVars: { rate: number; queues: string[] } | undefined;
  /** The queue this incarnation has checked its stored name against (bind). */
  private bound: string | null = null;
  private pumping = false;
  private pumpAgain = false;
  alarmAt: number | null = null;

  constructor(
    readonly ctx: DurableObjectState,
    readonly env: Env,
  ) {
    this.d1 = this.meter.d1(env.DB);
    this.db = dbOf(this.d1);
    this.outbound = new Outbound(
      () => this.config.WORKER_TOKEN,
      () => this.config.DISPATCH_TIMEOUT_MS,
      () => this.meter.add('outbound_requests'),
    );
  }

  get config(): Config {
    const parsed = configOf(this.env);
    if (!parsed.ok)
      throw new Error(`config_invalid: ${parsed.problems.map((p) => p.variable).join(', ')}`);
    return parsed.config;
  }

  /** Rebuilds the heaps from storage: what makes an eviction or restart lose nothing. */
  async load(): Promise<void> {
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
      recordStart: (start, forgetBefore) => store.recordStart(start, forgetBefore),
    };
    this.engine = new QueueEngine(jobs, () => this.settings(), newToken, this.telemetry);
    this.engine.restore(
      store.queuedEntries(),
      (['scheduled', 'retrying'] as const).flatMap((st) => store.jobKeys(st, 'next_attempt_at')),
      store.jobsWithStatus('running'),
      { starts: store.rateStarts(), controls: store.controls() },
    );
    // What the platform holds, not what was last asked for: a restart of the runtime may have lost it.
    this.alarmAt = await this.ctx.storage.getAlarm();
  }

  /**
   * The job's row as this object knows it now: active here, or finished lately (the last
   * RECENT_KEPT finishes, in memory), null otherwise. D1 lags it by the outbox, never leads it.
   */
  freshRow(id: string): JobRow | null {
    const active = this.store.jobById(id);
    if (active) return jobRowOf(active, this.queue, Date.now(), 0);
    const f = this.recent.get(id);
    return f ? finishedRowOf(f.job, this.queue, f.status, f.result, f.error, f.at) : null;
  }

  rememberFinished(f: Finish): void {
    this.recent.delete(f.job.id);
    this.recent.set(f.job.id, f);
    if (this.recent.size > RECENT_KEPT) this.recent.delete(this.recent.keys().next().value!);
  }

  /** The engine's view of the configuration, rebuilt only when the configuration object changes. */
  settings(): EngineSettings {
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

  bind(queue: string): void {
    // Every call names its queue; the storage read is needed once per incarnation, not per call.
    if (this.bound === queue) return;
    if (this.store.meta('queue') !== queue) this.store.setMeta('queue', queue);
    this.queue = queue;
    this.bound = queue;
  }

  /** Chaos only: the share of D1 batches the outbox fails in this queue (FAULT_D1_FAIL_RATE). */
  d1FaultRate(): number {
    // Read once: the outbox asks at every batch, and a binding read is not free (bench/costs).
    this.faultVars ??= {
      rate: Number(this.env.FAULT_D1_FAIL_RATE ?? 0) || 0,
      queues: (this.env.FAULT_D1_FAIL_QUEUES ?? '').split(','),
    };
    const { rate, queues } = this.faultVars;
    return rate > 0 && queues.includes(this.queue) ? rate : 0;
  }

  /** Starts a dispatch pass, or asks the running one to go round again. */
  kick(): void {
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
  dispatchPass(now: number): void {
    if (this.engine.queuedInMemory === 0) return;
    const live = this.store.workers().filter((w) => w.status === 'active' && this.isLive(w, now));
    const offers = live
      .filter(
        (w) =>
          (this.unavailableUntil.get(w.id) ?? 0) <= now &&
          (w.mode !== 'pull' || this.pullWaiters.has(w.id)),
      )
      .map((node) => {
        const waiter = this.pullWaiters.get(node.id);
        const credit = this.credits.get(node.id);
        // A node's credit already counts its prefetch: up to the most a node may prefetch.
        const prefetch = waiter?.prefetch ?? (credit !== undefined ? MAX_PREFETCH : 0);
        return { node, max: waiter?.max ?? Infinity, prefetch, credit };
      });
    if (offers.length === 0) return;
    const effects = this.engine.dispatch(now, live, offers);
    void this.persist(this.apply(effects, now));
    let sent = false;
    for (const e of effects) {
      if (e.kind !== 'dispatch') continue;
      const node = this.store.worker(e.nodeId)!;
      const carrier = this.carriers.get(node.id);
      if (node.mode === 'pull') this.hooks.deliverPulled(node, e.jobs);
      else if (carrier) carrier.push(...e.jobs);
      else void this.hooks.send(node, e.jobs);
      sent = true;
    }
    // A pass that only parked rate-limited jobs sent nothing, but their wake is a deadline too.
    if (sent || this.engine.rates.nextWake() < (this.alarmAt ?? Infinity)) void this.armAlarm();
  }

  async armAlarm(): Promise<void> {
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

  /** Everything that is due: reap silent nodes, expire leases, release timers, then dispatch. */
  tick(now: number): void {
    if (this.config.RETENTION_DAYS > 0 && now - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.deps.prune(now - this.config.RETENTION_DAYS * 86_400_000);
    }
    if (now - this.prunedStartsAt > PRUNE_EVERY_MS) {
      this.prunedStartsAt = now;
      this.store.pruneRateStarts(now);
    }
    this.reap(now);
    void this.persist(this.apply(this.engine.tick(now), now));
    this.kick();
    void this.callbacks.deliverDue(now).then(() => this.armAlarm());
  }

  reap(now: number): void {
    const timeoutMs = this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
    for (const w of this.store.workers()) {
      if (now - w.last_heartbeat_at <= timeoutMs) continue;
      const requeued = this.handBackAll(w.id, 'worker stopped heart-beating', true, now);
      this.store.deleteWorker(w.id);
      this.engine.forgetNode(w.id);
      this.hooks.endPull(w.id);
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

  /** Dispatched jobs a node did not take go back to the queue in their old place, at no cost. */
  handBack(jobs: DispatchedJob[], reason: string, now: number): void {
    void this.persist(this.apply(this.engine.handBack(jobs.map(claimOf), reason, now), now));
  }

  /** Puts every job a node holds back in the queue; `leaseLost` counts it against the job's lease-loss bound. */
  handBackAll(workerId: string, reason: string, leaseLost: boolean, now: number): number {
    const { count, effects } = this.engine.handBackAll(workerId, reason, leaseLost, now);
    void this.persist(this.apply(effects, now));
    return count;
  }

  /**
   * Carries out the engine's effects (src/core/engine/effects.ts) except dispatches, which the
   * dispatch pass sends itself: returns the D1 statements, in order, for the caller to persist in
   * this same turn; logs; asks push nodes to kill; and settles finished jobs (callback, dependents).
   */
  apply(effects: Effect[], now: number): Stmt[] {
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
        stmts.push(...this.hooks.finished(e.job, e.status, e.result, e.error, now));
      } else if (e.kind === 'kill') this.hooks.kill(e.nodeId, e.lease);
      else if (e.kind === 'event') log(e.line);
    }
    return stmts;
  }

  /**
   * Writes to D1 through the outbox. The statements are logged in the caller's synchronous turn, so
   * they commit with the state change they record; the outbox writes them in order. Resolves when D1
   * has them, or after PERSIST_WAIT_MS (they land later, in order): callers that answer a client
   * wait, so a read of D1 after the answer sees the change. Never throws.
   */
  async persist(stmts: Stmt[]): Promise<boolean> {
    if (stmts.length === 0) return true;
    return this.outbox.landed(this.outbox.add(stmts), PERSIST_WAIT_MS);
  }

  /** A job's D1 row as of this change: versioned, so an older write landing later cannot undo it. */
  project(id: string, patch: JobPatch): Stmt {
    return updateJob(this.db, id, { ...patch, version: this.outbox.version() });
  }

  isLive(w: WorkerRow, now: number): boolean {
    return now - w.last_heartbeat_at <= this.config.WORKER_HEARTBEAT_TIMEOUT_SEC * 1000;
  }

  /** The queue's default retry policy (a job's own `backoff` overrides it in the engine). */
  backoff(): BackoffPolicy {
    return {
      type: 'exponential',
      baseSec: this.config.BACKOFF_BASE_SEC,
      maxSec: this.config.BACKOFF_MAX_SEC,
      jitter: false,
    };
  }

  /** Whether this object ever took the job: it holds it, or remembers how it ended. */
  knows(id: string): boolean {
    return !!this.store.jobById(id) || !!this.deps.outcome(id);
  }
}

/** A dispatched job's attempt, as the node it went to holds it. */
function claimOf(j: DispatchedJob): Claim {
  return { job_id: j.job_id, attempt: j.attempt, token: j.token };
}

const OUTBOX_RETRY_MS = 5000;

/** How long a transition answered to a client waits for D1 before answering anyway. */
export const PERSIST_WAIT_MS = 1000;
/** Finished jobs' rows kept in memory for reads while D1 catches up (a few MB at most). */
const RECENT_KEPT = 2000;

/** How often finished jobs' outcomes older than RETENTION_DAYS are forgotten. */
const PRUNE_EVERY_MS = 3_600_000;
