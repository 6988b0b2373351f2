import type { Context } from 'hono';
import { and, eq } from 'drizzle-orm';
import { queueOfJobId } from '../core/ids';
import type { Db } from '../db/client';
import { claimDedupKey, releaseDedupKey } from '../db/dedup-keys';
import { idempotencyKeys, type JobRow } from '../db/schema';
import { DEFAULT_DEDUP_TTL_SEC } from '../protocol/flow-control';
import type { JobSubmit } from '../protocol/job';
import type { NewJob } from '../protocol/queue-object';
import { ApiError } from './errors';
import { readJob } from './read-job';
import type { AppEnv } from './context';

/** What a submission's `dedup_key` came to (docs/protocol.md 1.11). */
export type Dedup =
  | { kind: 'none' }
  /** This submission owns the window: its job is the first. */
  | { kind: 'claimed'; key: string; jobId: string }
  /** The first job is of this queue: the submission goes to its id, and the queue answers with it. */
  | { kind: 'adopted' }
  /** The first job is of another queue of the tenant: it is the answer. */
  | { kind: 'found'; row: JobRow };

/**
 * Debounce and dedup act on one job: `POST /jobs/batch` is all or none, and a batch that was partly
 * answered with other jobs would be neither. So a batch carrying either is refused, naming the field.
 */
export function refuseFlowInBatch(bodies: JobSubmit[], fieldPrefix: string): void {
  if (!fieldPrefix) return;
  for (const [i, b] of bodies.entries())
    for (const name of ['debounce', 'dedup_key'] as const)
      if (b[name] !== undefined) {
        const field = `${fieldPrefix}.${i}.${name}`;
        const message = 'not in a batch: submit this job alone with POST /jobs';
        throw new ApiError(400, 'validation_failed', `${field}: ${message}`, {
          problems: [{ field, message }],
        });
      }
}

/**
 * Claims the submission's dedup key in D1 for its job (one winner among concurrent submissions),
 * or finds the job an earlier submission claimed it for. A first job of this queue is adopted: the
 * submission is sent under its id, so the queue answers with that job, or takes this one under that
 * id if the first submission died before reaching it; either way exactly one job has the key.
 */
export async function claimDedup(
  c: Context<AppEnv>,
  db: Db,
  tenant: string,
  body: JobSubmit,
  job: NewJob,
  queue: string,
): Promise<Dedup> {
  if (body.dedup_key === undefined) return { kind: 'none' };
  const ttl = body.dedup_ttl_sec ?? DEFAULT_DEDUP_TTL_SEC;
  const claim = await claimDedupKey(db, tenant, body.dedup_key, job.id, Date.now(), ttl);
  if (claim.claimed) return { kind: 'claimed', key: body.dedup_key, jobId: job.id };
  if (queueOfJobId(claim.jobId) === queue) {
    job.id = claim.jobId;
    return { kind: 'adopted' };
  }
  const row = await readJob(c.env, db, tenant, claim.jobId);
  if (row) return { kind: 'found', row };
  throw new ApiError(
    409,
    'dedup_key_pending',
    `dedup_key: job ${claim.jobId} of queue ${queueOfJobId(claim.jobId)} holds this key and is not accepted yet; retry`,
    { job_id: claim.jobId },
  );
}

/** The submission that claimed the key was refused: the key is free again. */
export async function releaseDedup(db: Db, tenant: string, dedup: Dedup): Promise<void> {
  if (dedup.kind === 'claimed') await releaseDedupKey(db, tenant, dedup.key, dedup.jobId);
}

/**
 * A debounced submission's job is the key's pending job, not the id its idempotency key recorded:
 * the key now names that job, so a retry of the request is answered with it and moves nothing.
 */
export async function repointIdempotencyKey(
  db: Db,
  tenant: string,
  key: string,
  jobId: string,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ jobIds: JSON.stringify([jobId]) })
    .where(and(eq(idempotencyKeys.tenant, tenant), eq(idempotencyKeys.key, key)));
}
