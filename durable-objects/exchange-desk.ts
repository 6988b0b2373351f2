// Wire version 3 at the queue's object: a node's credits, and the exchange that answers a push
// node's results with its next leases.
import type { DispatchedJob, ResultReport } from '../src/protocol/dispatch';
import type { QueueStanding } from '../src/protocol/credits';
import type { ResultVerdict } from '../src/protocol/results';
import type { Outcome } from '../src/protocol/queue-object';
import { withBlobUrls } from './blob-urls';
import type { QueueShell } from './queue-shell';
import { unknownWorker } from './shell-contract';

/** What the API tells a queue of the node beside its results (src/api/results-exchange.ts). */
export interface ExchangeTerms {
  worker_id: string;
  credit?: number;
  carry: boolean;
}

/** The node's grant to this queue: the most leases the dispatch pass lets it hold here. */
export function grant(s: QueueShell, workerId: string, credit: number | undefined): void {
  if (credit !== undefined) s.credits.set(workerId, credit);
}

/** What this queue could give the node, and what it holds there (dispatches on their way too). */
export function standing(s: QueueShell, workerId: string): QueueStanding {
  return { queued: s.engine.queuedInMemory, held: s.engine.leases.running(workerId) };
}

/**
 * A node's results batch. With version-3 terms the node's grant applies first (so the slots its
 * results free are offered within it), and for a push node the answer is an exchange: the jobs the
 * dispatch passes give the node while the results are applied ride the answer instead of a push.
 * Jobs carried by an answer that never reaches the node are not in its heartbeats, so heartbeat
 * reconciliation puts them back in the queue, as for a pull node's lost lease answer.
 */
export async function exchange(
  s: QueueShell,
  reports: (ResultReport & { job_id: string })[],
  terms: ExchangeTerms | undefined,
  report: (jobId: string, r: ResultReport) => Promise<Outcome<{ status: string }>>,
): Promise<
  Outcome<{ verdicts: ResultVerdict[]; jobs?: DispatchedJob[]; standing?: QueueStanding }>
> {
  const workerId = terms?.worker_id ?? reports[0]?.worker_id;
  const row = workerId !== undefined ? s.store.worker(workerId) : null;
  if (workerId !== undefined && !row) return unknownWorker(workerId);
  if (!terms || !row) {
    const outcomes = await Promise.all(reports.map(({ job_id, ...r }) => report(job_id, r)));
    return { ok: true, verdicts: outcomes.map((o, i) => verdictOf(reports[i].job_id, o)) };
  }
  grant(s, row.id, terms.credit);
  // One carrier per node: a second exchange while one is open adds to it (the first answers all).
  const mine = terms.carry && row.mode === 'push' && !s.carriers.has(row.id);
  if (mine) s.carriers.set(row.id, []);
  let outcomes: Outcome<{ status: string }>[];
  let carried: DispatchedJob[] = [];
  try {
    outcomes = await Promise.all(reports.map(({ job_id, ...r }) => report(job_id, r)));
    // A raised grant frees slots without any result: this pass offers them.
    s.dispatchPass(Date.now());
  } finally {
    if (mine) {
      carried = s.carriers.get(row.id) ?? [];
      s.carriers.delete(row.id);
    }
  }
  return {
    ok: true,
    verdicts: outcomes.map((o, i) => verdictOf(reports[i].job_id, o)),
    // Signed blob URLs as a push dispatch carries them (blob-urls.ts).
    ...(mine ? { jobs: await withBlobUrls(carried, s.config.WORKER_TOKEN, Date.now()) } : {}),
    standing: standing(s, row.id),
  };
}

function verdictOf(jobId: string, o: Outcome<{ status: string }>): ResultVerdict {
  return o.ok
    ? { job_id: jobId, verdict: 'accepted', status: o.status }
    : { job_id: jobId, verdict: 'refused', code: o.code, message: o.message };
}
