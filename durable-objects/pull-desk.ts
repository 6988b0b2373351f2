// Pull nodes' long polls: a lease request waits here until a dispatch pass answers it.
import type { DispatchedJob } from '../src/protocol/dispatch';
import type { Lease } from '../src/protocol/worker';
import { withBlobUrls } from './blob-urls';
import type { LeaseTerms, Outcome } from '../src/protocol/queue-object';
import type { QueueStanding } from '../src/protocol/credits';
import { grant, standing } from './exchange-desk';
import type { QueueShell } from './queue-shell';
import { unknownWorker } from './shell-contract';

/**
 * A pull node's long poll (`POST /workers/:id/lease`). It waits here until dispatchPass assigns it
 * jobs, exactly as it would to a push node (same order, routing, fencing tokens and lease
 * deadlines), or until `wait_ms` passes (no jobs). A newer request from the same node supersedes
 * this one, which then ends empty: its connection is most likely gone, and jobs are only ever
 * handed to the one request still attached. Jobs handed to a request whose answer never reaches the
 * node are not listed in its heartbeats, so reconcileLeases puts them back in the queue.
 */
export async function lease(
  s: QueueShell,
  queue: string,
  workerId: string,
  req: LeaseTerms,
): Promise<Outcome<{ jobs: DispatchedJob[]; capacity: number; standing?: QueueStanding }>> {
  s.bind(queue);
  const row = s.store.worker(workerId);
  if (!row) return unknownWorker(workerId);
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
  endPull(s, workerId);
  grant(s, workerId, req.credit);
  const jobs = await new Promise<DispatchedJob[]>((resolve) => {
    const timer = setTimeout(() => endPull(s, workerId, req.request_id), req.wait_ms);
    s.pullWaiters.set(workerId, {
      requestId: req.request_id,
      max: req.max_jobs ?? row.capacity,
      prefetch,
      resolve,
      timer,
    });
    s.kick();
  });
  // Signed blob URLs as a push dispatch carries them (blob-urls.ts).
  return {
    ok: true,
    jobs: await withBlobUrls(jobs, s.config.WORKER_TOKEN, Date.now()),
    capacity: row.capacity,
    ...(req.credit !== undefined ? { standing: standing(s, workerId) } : {}),
  };
}

/** The API gave up on one of its lease requests (another queue answered first): end it, with what it already has. */
export async function endLease(
  s: QueueShell,
  queue: string,
  workerId: string,
  requestId: string,
): Promise<void> {
  s.bind(queue);
  endPull(s, workerId, requestId);
}

/**
 * Leased jobs the API could not hand to the node (more than it asked for, across queues): back to
 * the queue in their place, at no cost, like a push node's `busy` rejection.
 */
export async function declineLeases(
  s: QueueShell,
  queue: string,
  workerId: string,
  leases: Lease[],
): Promise<{ requeued: number }> {
  s.bind(queue);
  const now = Date.now();
  const claims = leases.map((l) => ({ ...l, worker_id: workerId }));
  const effects = s.engine.handBack(claims, `node ${workerId} asked for fewer jobs`, now);
  await s.persist(s.apply(effects, now));
  s.kick();
  await s.armAlarm();
  return { requeued: effects.filter((e) => e.kind === 'attempt').length };
}

/** Ends the node's waiting lease request (only `requestId`'s, when given), answering it with `jobs`. */
export function endPull(
  s: QueueShell,
  workerId: string,
  requestId?: string,
  jobs: DispatchedJob[] = [],
): void {
  const waiter = s.pullWaiters.get(workerId);
  if (!waiter || (requestId !== undefined && waiter.requestId !== requestId)) return;
  s.pullWaiters.delete(workerId);
  clearTimeout(waiter.timer);
  waiter.resolve(jobs);
}
