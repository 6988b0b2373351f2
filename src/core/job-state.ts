import type { JobStatus } from '../protocol/job';
import { PERMANENT_EXIT_CODES } from '../protocol/dispatch';

/**
 * The job state machine. Every transition the scheduler makes goes through `transition`, so an
 * impossible move (a result for a cancelled job, a second dispatch of a running one) is caught in one
 * place. Documented as a diagram in docs/protocol.md.
 */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  waiting: ['queued', 'scheduled', 'cancelled'],
  scheduled: ['queued', 'cancelled'],
  // queued -> scheduled: PATCH /jobs/:id gave a waiting job a later run_at (docs/protocol.md 1.11).
  queued: ['running', 'scheduled', 'cancelled'],
  running: ['succeeded', 'failed', 'retrying', 'queued', 'cancelled'],
  retrying: ['queued', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export class IllegalTransition extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`illegal job transition ${from} -> ${to}`);
  }
}

export function transition(from: JobStatus, to: JobStatus): JobStatus {
  if (!canTransition(from, to)) throw new IllegalTransition(from, to);
  return to;
}

/**
 * The one way out of a terminal state: a client's retry (`POST /jobs/bulk`, action `retry`) puts a
 * failed or cancelled job back in its queue under its own id. Not a transition of the scheduler's
 * own: the job has left the queue's object, which takes it back from D1 (durable-objects/bulk-desk.ts).
 */
export function reopen(from: JobStatus): JobStatus {
  if (from !== 'failed' && from !== 'cancelled') throw new IllegalTransition(from, 'queued');
  return 'queued';
}

export function isTerminal(status: JobStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** What the scheduler does after a failed attempt (failed dispatch, non-zero exit, timeout). */
export type FailureOutcome =
  { next: 'retrying'; failures: number } | { next: 'failed'; failures: number };

export function afterFailure(
  failuresSoFar: number,
  maxRetries: number,
  permanent: boolean,
): FailureOutcome {
  const failures = failuresSoFar + 1;
  if (permanent || failures > maxRetries) return { next: 'failed', failures };
  return { next: 'retrying', failures };
}

export function isPermanentExit(exitCode: number): boolean {
  return PERMANENT_EXIT_CODES.includes(exitCode);
}
