import type { BackoffPolicy } from '../backoff';
import type { JobPatch } from '../../db/write-jobs';
import type { DispatchedJob, ResultReport } from '../../protocol/dispatch';
import type { AttemptEndReason } from '../../protocol/attempt';
import type { JobResult } from '../../protocol/job';
import type { Lease } from '../../protocol/worker';
import type { LogFields } from '../../log';
import type { EngineJob } from './job';
import type { RateStart } from '../rate-gate';

/**
 * What a verb of the engine asks the world to do, in order. The shell (the queue's Durable Object)
 * turns `project`, `attempt` and `finished` into D1 statements for its outbox in this order, sends
 * `dispatch` and `kill`, and logs `event`: the engine itself does no I/O, so the simulation runs it
 * without a runtime.
 */
export type Effect =
  /** The job's D1 row as of this change (the shell adds the version). */
  | { kind: 'project'; id: string; patch: JobPatch }
  /** The history row of an attempt that just ended: written before the change that follows it. */
  | {
      kind: 'attempt';
      jobId: string;
      attempt: number;
      workerId: string | null;
      startedAt: number | null;
      reason: AttemptEndReason;
      error: string | null;
      report?: ResultReport;
    }
  /** The job reached a terminal state: its callback, its dependents, its remembered outcome. */
  | {
      kind: 'finished';
      job: EngineJob;
      status: FinalStatus;
      result: JobResult | null;
      error: string | null;
    }
  | DispatchEffect
  /** Tell a push node to stop an attempt (a pull node hears it in its next heartbeat answer). */
  | { kind: 'kill'; nodeId: string; lease: Lease }
  | { kind: 'event'; line: LogFields };

/** How a job ended: a terminal status of src/protocol/job.ts. */
export type FinalStatus = 'succeeded' | 'failed' | 'cancelled';

/** The jobs one dispatch pass gives one node: one request to it. */
export interface DispatchEffect {
  kind: 'dispatch';
  nodeId: string;
  jobs: DispatchedJob[];
}

/**
 * The job rows of the queue: the object's SQLite in the Durable Object, a map in the simulation.
 * Synchronous, so a verb's reads and writes all fall in one turn (one implicit storage transaction).
 */
export interface JobStore {
  bySeq(seq: number): EngineJob | null;
  byId(id: string): EngineJob | null;
  save(job: EngineJob): void;
  delete(seq: number): void;
  runningOf(nodeId: string): EngineJob[];
  /**
   * A start of a rate-limited job (src/core/rate-gate.ts), kept in the same turn as the job's row,
   * and its key's starts before `forgetBefore` forgotten: what makes a limit hold across a restart.
   */
  recordStart(start: RateStart, forgetBefore: number): void;
}

/** The queue's settings, read at each decision (they come from the environment). */
export interface EngineSettings {
  queue: string;
  leaseGraceSec: number;
  maxLeaseLosses: number;
  dispatchTimeoutMs: number;
  maxStarvationMs: number;
  weightOf(tenant: string): number;
  /** The queue's default retry policy; a job's own `backoff` overrides it field by field. */
  backoff: BackoffPolicy;
}

/** Counts for /metrics: the engine reports what happened, the shell's telemetry keeps the figures. */
export interface EngineObserver {
  dispatched(waitMs: number, priority: number, now: number): void;
  completed(durationMs: number, now: number): void;
  retried(now: number): void;
  failed(now: number): void;
  requeued(now: number): void;
  cancelled(now: number): void;
}

export const quietObserver: EngineObserver = {
  dispatched() {},
  completed() {},
  retried() {},
  failed() {},
  requeued() {},
  cancelled() {},
};
