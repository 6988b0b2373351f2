import type { Stmt } from '../src/db/write-jobs';
import type { DispatchedJob } from '../src/protocol/dispatch';
import type { Lease } from '../src/protocol/worker';
import type { JobResult } from '../src/protocol/job';
import type { Refusal } from '../src/protocol/queue-object';
import type { ActiveJob, WorkerRow } from './store';
import type { FinalStatus } from '../src/core/engine/effects';

// What the shell (queue-shell.ts) shares with the modules built on it, kept apart so those modules
// and the shell need not import each other for it.

/** A pull node's lease request, waiting in `lease()` (pull-desk.ts) for a dispatch pass to answer it. */
export interface PullWaiter {
  requestId: string;
  max: number;
  /** Leases the node may hold beyond its capacity (wire version 2). */
  prefetch: number;
  resolve: (jobs: DispatchedJob[]) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface ShellHooks {
  send(node: WorkerRow, jobs: DispatchedJob[]): Promise<void>;
  deliverPulled(node: WorkerRow, jobs: DispatchedJob[]): void;
  endPull(workerId: string): void;
  kill(nodeId: string, lease: Lease): void;
  finished(
    job: ActiveJob,
    status: FinalStatus,
    result: JobResult | null,
    error: string | null,
    now: number,
  ): Stmt[];
}

/** The answer to a node this queue does not know (never registered, or reaped): register again. */
export function unknownWorker(workerId: string): Refusal {
  return {
    ok: false,
    status: 404,
    code: 'worker_unknown',
    message: `worker ${workerId} is not registered (it may have been reaped): register again`,
  };
}

/** A job as it ended, kept a while for reads while D1 catches up (queue-shell.ts freshRow). */
export interface Finish {
  job: ActiveJob;
  status: FinalStatus;
  result: JobResult | null;
  error: string | null;
  at: number;
}
