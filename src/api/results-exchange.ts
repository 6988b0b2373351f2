/**
 * Applies a batch of one node's results (wire version 2): `POST /workers/:id/results`, and the
 * results a pull node's lease request carries. Items are grouped by queue (it is in the job id) and
 * each queue's scheduler gets one RPC for all of its items, so a batch of N results costs one request
 * and one signature check at the API and one call per queue, not N of each.
 *
 * Wire version 3: the request may carry the node's changed grants (`credits`); each queue named
 * there is called too, with or without results, and applies its grant before the results. A push
 * node's request that carries `credits` is an exchange: each queue answers with the jobs it would
 * have pushed to the node, and with its standing (src/protocol/credits.ts).
 */
import type { Outcome } from '../protocol/queue-object';
import { queueOfJobId } from '../core/ids';
import type { DispatchedJob, ResultReport } from '../protocol/dispatch';
import type { ResultItem, ResultVerdict } from '../protocol/results';
import type { Credits, QueueStanding, Standing } from '../protocol/credits';
import { schedulerFor, type AppEnv } from './context';
import { ApiError } from './errors';

type JobReport = ResultReport & { job_id: string };

/** What a queue's scheduler is told of the node beside its results (version 3). */
export interface ExchangeTerms {
  worker_id: string;
  credit?: number;
  /** Carry the jobs dispatched to a push node in the answer instead of pushing them. */
  carry: boolean;
}

/** The scheduler's batch RPC, typed by hand: the stub's inferred type of a report is too deep for tsc. */
interface ResultsRpc {
  reportResults(
    queue: string,
    reports: JobReport[],
    terms?: ExchangeTerms,
  ): Promise<
    Outcome<{ verdicts: ResultVerdict[]; jobs?: DispatchedJob[]; standing?: QueueStanding }>
  >;
}

export interface Exchanged {
  verdicts: ResultVerdict[];
  jobs: DispatchedJob[];
  standing?: Standing;
}

/**
 * One verdict per item, in the order sent. A queue whose scheduler does not know the node refuses
 * its items (`worker_unknown`); when no queue knows it, the whole request is 404, as a heartbeat is.
 */
export async function applyResults(
  env: AppEnv['Bindings'],
  workerId: string,
  items: ResultItem[],
  credits?: Credits,
): Promise<Exchanged> {
  const byQueue = new Map<string, number[]>();
  for (const q of Object.keys(credits ?? {})) byQueue.set(q, []);
  items.forEach((item, i) => {
    const q = queueOfJobId(item.job_id);
    byQueue.set(q, [...(byQueue.get(q) ?? []), i]);
  });
  const verdicts: ResultVerdict[] = new Array<ResultVerdict>(items.length);
  const jobs: DispatchedJob[] = [];
  const standing: Standing = {};
  let known = 0;
  await Promise.all(
    [...byQueue].map(async ([queue, indexes]) => {
      const stub = schedulerFor(env, queue) as unknown as ResultsRpc;
      const reports = indexes.map((i) => ({ ...items[i], worker_id: workerId }));
      const terms = credits
        ? { worker_id: workerId, credit: credits[queue], carry: true }
        : undefined;
      const o = await stub.reportResults(queue, reports, terms);
      if (o.ok) {
        known++;
        jobs.push(...(o.jobs ?? []));
        if (o.standing) standing[queue] = o.standing;
      }
      indexes.forEach((i, k) => {
        verdicts[i] = o.ok
          ? o.verdicts[k]
          : { job_id: items[i].job_id, verdict: 'refused', code: o.code, message: o.message };
      });
    }),
  );
  if (known === 0 && byQueue.size > 0)
    throw new ApiError(
      404,
      'worker_unknown',
      `worker ${workerId} is not registered (it may have been reaped): register again`,
    );
  return { verdicts, jobs, ...(credits ? { standing } : {}) };
}
