/**
 * Applies a batch of one node's results (wire version 2): `POST /workers/:id/results`, and the
 * results a pull node's lease request carries. Items are grouped by queue (it is in the job id) and
 * each queue's scheduler gets one RPC for all of its items, so a batch of N results costs one request
 * and one signature check at the API and one call per queue, not N of each.
 */
import type { Outcome } from '../protocol/queue-object';
import { queueOfJobId } from '../core/ids';
import type { ResultReport } from '../protocol/dispatch';
import type { ResultItem, ResultVerdict } from '../protocol/results';
import { schedulerFor, type AppEnv } from './context';
import { ApiError } from './errors';

type JobReport = ResultReport & { job_id: string };

/** The scheduler's batch RPC, typed by hand: the stub's inferred type of a report is too deep for tsc. */
interface ResultsRpc {
  reportResults(
    queue: string,
    reports: JobReport[],
  ): Promise<Outcome<{ verdicts: ResultVerdict[] }>>;
}

/**
 * One verdict per item, in the order sent. A queue whose scheduler does not know the node refuses
 * its items (`worker_unknown`); when no queue knows it, the whole request is 404, as a heartbeat is.
 */
export async function applyResults(
  env: AppEnv['Bindings'],
  workerId: string,
  items: ResultItem[],
): Promise<ResultVerdict[]> {
  const byQueue = new Map<string, number[]>();
  items.forEach((item, i) => {
    const q = queueOfJobId(item.job_id);
    byQueue.set(q, [...(byQueue.get(q) ?? []), i]);
  });
  const verdicts: ResultVerdict[] = new Array<ResultVerdict>(items.length);
  let known = 0;
  await Promise.all(
    [...byQueue].map(async ([queue, indexes]) => {
      const stub = schedulerFor(env, queue) as unknown as ResultsRpc;
      const reports = indexes.map((i) => ({ ...items[i], worker_id: workerId }));
      const o = await stub.reportResults(queue, reports);
      if (o.ok) known++;
      indexes.forEach((i, k) => {
        verdicts[i] = o.ok
          ? o.verdicts[k]
          : { job_id: items[i].job_id, verdict: 'refused', code: o.code, message: o.message };
      });
    }),
  );
  if (known === 0 && items.length > 0)
    throw new ApiError(
      404,
      'worker_unknown',
      `worker ${workerId} is not registered (it may have been reaped): register again`,
    );
  return verdicts;
}
