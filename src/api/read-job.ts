import { getJob } from '../db/read-jobs';
import { queueIsKnown } from '../db/queues';
import { mergeRows } from '../db/job-rows';
import type { JobRow } from '../db/schema';
import type { Db } from '../db/client';
import type { Env } from '../env';
import { queueOfJobId } from '../core/ids';
import { schedulerFor } from './context';

/**
 * One job as `GET /jobs/:id` shows it, read-your-writes: D1's row, corrected by the job's queue
 * object while D1 lags it (the object's SQLite is the system of record; D1 is its projection,
 * written from the outbox, docs/protocol.md 1.2). A row D1 holds as finished is final and needs no
 * object; a job D1 has not seen yet is asked of the object only if its queue exists, so junk ids
 * wake no object. `tenant` null is the operator's view.
 */
export async function readJob(
  env: Env,
  db: Db,
  tenant: string | null,
  id: string,
): Promise<JobRow | undefined> {
  const queue = queueOfJobId(id);
  let d1: JobRow | undefined;
  let d1Error: unknown = null;
  try {
    d1 = await getJob(db, tenant, id);
  } catch (e) {
    d1Error = e;
  }
  if (d1 && d1.finishedAt !== null) return d1;
  if (!d1 && d1Error === null && !(await queueIsKnown(db, queue))) return undefined;
  const fresh = await schedulerFor(env, queue).jobRow(queue, id, tenant);
  if (fresh) return mergeRows(d1, fresh);
  if (d1Error !== null) throw d1Error;
  return d1;
}
