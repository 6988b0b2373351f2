/**
 * The leases this node holds and the work behind each: run the job on the right executor, then
 * report its result. A lease is held from the moment a dispatch is accepted until its result is
 * delivered (or refused), so heartbeats keep naming it while a report is still being retried.
 *
 * Killing a lease (cancel, a revoked lease, re-registration, the drain deadline) aborts both the run
 * and the report: in every one of those cases the scheduler has already moved the job on, and a
 * result from us would only be refused.
 */
import { ProgressStream } from './progress';
import type { ExecutorName } from '../../src/protocol/common';
import type { DispatchedJob, ResultReport } from '../../src/protocol/dispatch';
import type { Lease } from '../../src/protocol/worker';
import type { ApiClient } from './api-client';
import type { Executor } from './executors/types';
import { isNodeJobType, runNodeJob, type NodeJobPolicy } from './jobs/node-jobs';
import type { RunOutcome } from './jobs/outcome';
import { errorMessage, type Logger } from './log';
import { reportResult, type ReportOutcome } from './reporter';
import { fetchPayload, OutputSpool, uploadLargeOutput } from './blobs';
import { noTracing, traceEnv, type JobSpans, type Tracing } from './tracing';

export interface ExecutorSet {
  available: ExecutorName[];
  pick(requested?: ExecutorName | null): Executor;
  close(): Promise<void>;
}

export type KillReason =
  | 'cancelled'
  | 'lease_revoked'
  | 'superseded'
  | 'reregistered'
  | 'drain_deadline'
  | 'forced_exit'
  | 'credential_refused';

interface Held {
  job: DispatchedJob;
  spans: JobSpans;
  controller: AbortController;
  /** `queued`: prefetched, waiting for a slot (it is leased: heartbeats name it). */
  phase: 'queued' | 'running' | 'reporting';
  done: Promise<void>;
  /** A queued lease's turn: resolved when a slot is its own, or when it is killed. */
  turn?: () => void;
}

/** How a finished attempt reaches the API: one request per job (wire 1) or batched (wire 2). */
export type Report = (
  jobId: string,
  report: Omit<ResultReport, 'worker_id'>,
  signal: AbortSignal,
) => Promise<ReportOutcome>;

export interface JobRunnerDeps {
  workerId: string;
  capacity: number;
  executors: ExecutorSet;
  nodeJobs: NodeJobPolicy;
  api: ApiClient;
  log: Logger;
  /** Where the signed blob paths of a dispatch (payload_url, result_upload_url) live: the node's API_URL. */
  apiUrl?: string;
  /** Spans of each job (tracing.ts); off unless the OTEL variables are set. */
  tracing?: Tracing;
  /** Default: POST /jobs/:id/result, one request per job. */
  report?: Report;
  /** A lease ended (reported, abandoned or killed): the node's grants may move (credits.ts). */
  leaseEnded?: (job: DispatchedJob) => void;
}

export class JobRunner {
  private readonly held = new Map<string, Held>();
  private readonly idleWaiters = new Set<() => void>();
  /** Woken whenever a slot frees: a pull node's lease loop waits here when it is full. */
  private readonly freeWaiters = new Set<() => void>();
  /** Prefetched leases in the order they came, each waiting for a slot. */
  private readonly queued: Held[] = [];
  /**
   * Leases to hold beyond `capacity`, queued to start the moment a slot frees: a pull node's
   * PREFETCH, once the API said at registration that it speaks wire version 2.
   */
  prefetch = 0;

  constructor(private readonly deps: JobRunnerDeps) {}

  /** Jobs executing now; a lease whose result is only being reported no longer takes a slot. */
  get running(): number {
    let n = 0;
    for (const h of this.held.values()) if (h.phase === 'running') n++;
    return n;
  }

  /** Slots neither running a job nor promised to a queued one: what a push dispatch may fill. */
  get free(): number {
    return Math.max(0, this.deps.capacity - this.running - this.queued.length);
  }

  /** How many more leases to ask for: capacity plus prefetch, less the leases running or queued. */
  get room(): number {
    const leased = this.running + this.queued.length;
    return Math.max(0, this.deps.capacity + this.prefetch - leased);
  }

  /** Every lease held, running or reporting: what a heartbeat carries. */
  leases(): Lease[] {
    return [...this.held.values()].map(({ job }) => ({
      job_id: job.job_id,
      attempt: job.attempt,
      token: job.token,
    }));
  }

  holding(jobId: string): DispatchedJob | undefined {
    return this.held.get(jobId)?.job;
  }

  /** Why this node cannot run the job at all, or null. Checked before a dispatch is accepted. */
  unfit(job: DispatchedJob): string | null {
    if (isNodeJobType(job.type)) return null; // no runner involved, the executor request is moot
    if (this.deps.executors.available.length === 0) return 'no_executor';
    if (job.executor && !this.deps.executors.available.includes(job.executor))
      return 'executor_unavailable';
    return null;
  }

  start(job: DispatchedJob): void {
    const previous = this.held.get(job.job_id);
    if (previous) this.abort(previous, 'superseded');
    const controller = new AbortController();
    const spans = (this.deps.tracing ?? noTracing).job(job);
    const entry: Held = { job, spans, controller, phase: 'running', done: Promise.resolve() };
    if (this.running + this.queued.length >= this.deps.capacity) {
      entry.phase = 'queued';
      this.queued.push(entry);
      this.deps.log.info('job_queued', {
        job_id: job.job_id,
        attempt: job.attempt,
        ahead: this.queued.length - 1,
      });
    }
    this.held.set(job.job_id, entry);
    entry.done = this.runAndReport(entry).finally(() => {
      if (this.held.get(job.job_id) === entry) this.held.delete(job.job_id);
      this.slotFreed();
      this.deps.leaseEnded?.(job);
      if (this.held.size === 0) for (const wake of [...this.idleWaiters]) wake();
    });
  }

  /** Stops the lease if it is exactly this attempt with this token; true when something was stopped. */
  kill(lease: Lease, reason: KillReason): boolean {
    const h = this.held.get(lease.job_id);
    if (!h || h.job.attempt !== lease.attempt || h.job.token !== lease.token) return false;
    this.abort(h, reason);
    return true;
  }

  killAll(reason: KillReason): number {
    const all = [...this.held.values()];
    for (const h of all) this.abort(h, reason);
    return all.length;
  }

  /** Resolves once no lease is held, or when `signal` aborts (the drain deadline). */
  async whenIdle(signal?: AbortSignal): Promise<void> {
    if (this.held.size === 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        this.idleWaiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.idleWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Resolves once there is `room` for another lease, or when `signal` aborts. */
  async whenRoom(signal?: AbortSignal): Promise<void> {
    if (this.room > 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        if (this.room === 0 && !signal?.aborted) return;
        this.freeWaiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.freeWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private slotFreed(): void {
    // A queued lease takes the slot first: it was leased already, and the scheduler counts it.
    while (this.queued.length > 0 && this.running < this.deps.capacity) {
      const next = this.queued.shift()!;
      next.phase = 'running';
      next.turn?.();
    }
    for (const wake of [...this.freeWaiters]) wake();
  }

  /** Waits for aborted work to unwind (child processes reaped) so shutdown leaves no orphans. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.held.values()].map((h) => h.done));
  }

  private abort(h: Held, reason: KillReason): void {
    if (h.controller.signal.aborted) return;
    this.deps.log.info(reason === 'cancelled' ? 'job_cancelled' : 'job_killed', {
      job_id: h.job.job_id,
      attempt: h.job.attempt,
      reason,
      phase: h.phase,
    });
    h.spans.dropped(reason);
    h.controller.abort(reason);
    const i = this.queued.indexOf(h);
    if (i >= 0) {
      this.queued.splice(i, 1);
      h.turn?.();
      this.slotFreed();
    }
  }

  private async runAndReport(h: Held): Promise<void> {
    const { job, controller } = h;
    const { log, workerId, api } = this.deps;
    const fields = { job_id: job.job_id, attempt: job.attempt, type: job.type };
    // Start after the dispatch's 202 is on its way; the lease is already visible to cancel and heartbeat.
    await new Promise((resolve) => setImmediate(resolve));
    if (h.phase === 'queued' && !controller.signal.aborted)
      await new Promise<void>((resolve) => (h.turn = resolve));
    if (controller.signal.aborted) return;
    const progress = new ProgressStream(api, log, workerId, job);
    const spool = job.result_upload_url ? new OutputSpool() : null;
    const outcome = await this.execute(
      job,
      controller.signal,
      (chunk) => progress.push(chunk),
      spool,
      h.spans,
    );
    if (controller.signal.aborted) return void spool?.dispose(); // logged by abort(); the scheduler does not want a report
    h.spans.ran(outcome);
    h.spans.reporting();
    h.phase = 'reporting';
    this.slotFreed();
    // The wasm executor hands over stderr only at the end.
    if (outcome.executor === 'wasm') progress.push(outcome.stderr);
    await progress.close();
    const failed = outcome.exit_code !== 0 || outcome.timed_out;
    log[failed ? 'warn' : 'info'](failed ? 'job_failed' : 'job_completed', {
      ...fields,
      executor: outcome.executor,
      exit_code: outcome.exit_code,
      timed_out: outcome.timed_out,
      duration_ms: outcome.duration_ms,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    const outputBlob = await uploadLargeOutput(
      spool,
      this.deps.apiUrl,
      job.result_upload_url,
      controller.signal,
      log,
      fields,
    );
    const report: Report =
      this.deps.report ??
      ((jobId, r, signal) => reportResult(api, log, jobId, { ...r, worker_id: workerId }, signal));
    const reported = await report(
      job.job_id,
      {
        attempt: job.attempt,
        token: job.token,
        exit_code: outcome.exit_code,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        // The wire wants whole milliseconds; an executor timing with performance.now() has fractions.
        duration_ms: Math.max(0, Math.round(outcome.duration_ms)),
        executor: outcome.executor,
        timed_out: outcome.timed_out,
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outputBlob ? { output_blob: outputBlob } : {}),
      },
      controller.signal,
    );
    h.spans.reported(reported);
  }

  private async execute(
    job: DispatchedJob,
    signal: AbortSignal,
    onStderr: (chunk: string) => void,
    spool: OutputSpool | null,
    spans: JobSpans,
  ): Promise<RunOutcome> {
    const startedAt = performance.now();
    const timeoutMs = job.timeout_sec * 1000;
    const base = {
      job_id: job.job_id,
      attempt: job.attempt,
      type: job.type,
      timeout_sec: job.timeout_sec,
      // The trace the job belongs to, as GET /jobs/:id shows it: log lines and spans meet on it.
      ...(job.traceparent ? { trace_id: job.traceparent.split('-')[1] } : {}),
    };
    try {
      // A blob job's payload is fetched first; failing to fetch it fails the attempt (retried elsewhere).
      const payload = job.payload_url
        ? await fetchPayload(this.deps.apiUrl ?? '', job.payload_url, signal).catch(
            (err: unknown) => {
              throw new Error(`could not fetch the payload: ${errorMessage(err)}`);
            },
          )
        : job.payload;
      if (isNodeJobType(job.type)) {
        this.deps.log.info('job_started', { ...base, executor: null });
        const onStdout = spool ? (chunk: Buffer) => spool.push(chunk) : undefined;
        const trace = spans.running(null);
        return await runNodeJob(
          { type: job.type, payload, timeoutMs, signal, onStderr, onStdout, trace },
          this.deps.nodeJobs,
        );
      }
      const executor = this.deps.executors.pick(job.executor);
      this.deps.log.info('job_started', { ...base, executor: executor.name });
      const env = traceEnv(spans.running(executor.name));
      const onStdout = spool ? (chunk: Buffer) => spool.push(chunk) : undefined;
      return await executor.run({
        jobId: job.job_id,
        type: job.type,
        payload,
        timeoutMs,
        signal,
        onStderr,
        onStdout,
        env,
      });
    } catch (err) {
      // The executor itself broke (not the job): report it so the scheduler can retry elsewhere.
      return {
        executor: null,
        exit_code: -1,
        stdout: '',
        stderr: '',
        duration_ms: Math.round(performance.now() - startedAt),
        timed_out: false,
        cancelled: signal.aborted,
        error: `the node could not run the job: ${errorMessage(err)}`,
      };
    }
  }
}
