import type { Context } from 'hono';
import { newJobId, queueOfJobId } from '../core/ids';
import { findCycle } from '../core/dag';
import { dbOf } from '../db/client';
import { checkPayloadBlobs } from './blob-refs';
import { claimIdempotencyKey, releaseIdempotencyKey } from '../db/idempotency';
import { MAX_PAYLOAD_BYTES, type Job, type JobSubmit } from '../protocol/job';
import type { NewJob, Outcome } from '../protocol/queue-object';
import type { JobRow } from '../db/schema';
import { log } from '../log';
import { ApiError } from './errors';
import { newJobOf, withCheckedCallbacks } from './new-job';
import { claimQueueFor } from './queue-claim';
import { submittedTrace } from './trace-headers';
import { traceIdOf } from '../core/trace-context';
import { schedulerFor, type AppEnv } from './context';
import { jobView } from './views';
import { claimDedup, refuseFlowInBatch, releaseDedup, repointIdempotencyKey } from './flow-submit';

const encoder = new TextEncoder();
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Accepts jobs for one queue: all of them or none. With an idempotency key, a repeat of the same
 * request answers 200 with the jobs the first one created; the same key with another body is a 409.
 */
export async function submitJobs(
  c: Context<AppEnv>,
  bodies: JobSubmit[],
  fieldPrefix: string,
  opts: { tenant?: string; replayOf?: string[] } = {},
): Promise<{ status: 200 | 201; jobs: Job[]; flow?: 'debounced' | 'deduplicated' }> {
  const config = c.get('config');
  const tenant = opts.tenant ?? c.get('tenant');
  const now = Date.now();
  const queue = bodies[0].queue;
  // Every job of the request joins the caller's trace; without one, each starts its own.
  const trace = submittedTrace(c);
  const newJobs: NewJob[] = bodies.map((b, i) => {
    const field = (name: string) => (fieldPrefix ? `${fieldPrefix}.${i}.${name}` : name);
    if (b.queue !== queue)
      throw new ApiError(
        400,
        'validation_failed',
        `${field('queue')}: every job of a batch must use the same queue`,
        {
          problems: [
            { field: field('queue'), message: 'every job of a batch must use the same queue' },
          ],
        },
      );
    const bytes = encoder.encode(JSON.stringify(b.payload ?? null)).length;
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new ApiError(
        413,
        'payload_too_large',
        `${field('payload')}: ${bytes} bytes serialised, the inline limit is ${MAX_PAYLOAD_BYTES}; upload it with PUT /blobs (up to 100 MiB) and give payload_blob`,
        {
          problems: [
            {
              field: field('payload'),
              message: `at most ${MAX_PAYLOAD_BYTES} bytes inline; larger payloads go through PUT /blobs and payload_blob`,
            },
          ],
        },
      );
    }
    return newJobOf(withCheckedCallbacks(b, field, config), {
      id: newJobId(queue, now),
      tenant,
      now,
      defaultTimeoutSec: config.DEFAULT_TIMEOUT_SEC,
      replayOf: opts.replayOf?.[i] ?? null,
      trace,
    });
  });

  const db = dbOf(c.env.DB);
  await claimQueueFor(c, queue, fieldPrefix ? `${fieldPrefix}.0.queue` : 'queue', tenant);
  await checkPayloadBlobs(db, tenant, bodies, fieldPrefix);

  resolveDependencies(bodies, newJobs, fieldPrefix, queue);
  refuseFlowInBatch(bodies, fieldPrefix);
  // Before the idempotency key, so the key records the job the dedup window answers with.
  const dedup = await claimDedup(c, db, tenant, bodies[0], newJobs[0], queue);
  if (dedup.kind === 'found')
    return { status: 200, jobs: [jobView(dedup.row)], flow: 'deduplicated' };

  const key = c.req.header('x-idempotency-key');
  let requestHash = '';
  if (key !== undefined) {
    if (!IDEMPOTENCY_KEY.test(key))
      throw new ApiError(
        400,
        'validation_failed',
        'X-Idempotency-Key: 1 to 255 printable ASCII characters',
        {
          problems: [
            { field: 'X-Idempotency-Key', message: '1 to 255 printable ASCII characters' },
          ],
        },
      );
    requestHash = await sha256(JSON.stringify(bodies));
    const claim = await claimIdempotencyKey(
      db,
      tenant,
      key,
      requestHash,
      newJobs.map((j) => j.id),
      Date.now(),
      config.IDEMPOTENCY_TTL_SEC,
    );
    if (!claim.claimed) {
      if (claim.requestHash !== requestHash || claim.jobIds.length !== newJobs.length)
        throw new ApiError(
          409,
          'idempotency_key_reused',
          'X-Idempotency-Key was already used with a different request body',
          { job_ids: claim.jobIds },
        );
      // The same request again: it goes to the job ids its first request claimed. The scheduler
      // answers with those jobs if it took them, or takes them now if that request died before it,
      // so a retry always reaches the same jobs, whenever it comes.
      adoptIds(newJobs, claim.jobIds);
    }
  }

  const outcome = (await schedulerFor(c.env, queue).submit(
    queue,
    newJobs,
    fieldPrefix,
  )) as Outcome<{ jobs: JobRow[]; created: boolean; debounced?: boolean }>;
  if (!outcome.ok) {
    if (key !== undefined) await releaseIdempotencyKey(db, tenant, key, requestHash);
    await releaseDedup(db, tenant, dedup);
    throw new ApiError(outcome.status, outcome.code, outcome.message, outcome.details);
  }
  if (outcome.debounced) {
    if (key !== undefined) await repointIdempotencyKey(db, tenant, key, outcome.jobs[0].id);
    return { status: 200, jobs: outcome.jobs.map(jobView), flow: 'debounced' };
  }
  if (!outcome.created) {
    if (dedup.kind === 'adopted')
      return { status: 200, jobs: outcome.jobs.map(jobView), flow: 'deduplicated' };
    log({
      event: 'job_submit_replayed',
      request_id: c.get('requestId'),
      job_ids: newJobs.map((j) => j.id),
    });
    return { status: 200, jobs: outcome.jobs.map(jobView) };
  }
  for (const r of outcome.jobs) {
    // Debug, like every per-job event in the Worker (bench/costs); jobs_submitted_total counts them.
    log({
      level: 'debug',
      event: 'job_submitted',
      job_id: r.id,
      queue: r.queue,
      type: r.type,
      priority: r.priority,
      status: r.status,
      tenant,
      request_id: c.get('requestId'),
      // The job's trace (docs/protocol.md 1.10): its log lines and its spans on the node meet here.
      trace_id: r.traceparent ? traceIdOf(r.traceparent) : null,
    });
  }
  return { status: 201, jobs: outcome.jobs.map(jobView) };
}

/**
 * `depends_on` to job ids: an index names another job of the same batch (only in a batch), an id a job
 * of the same queue (one queue is one scheduler, which alone sees every dependency finish). A cycle
 * among the batch's members is refused; the scheduler judges the ids that already exist.
 */
function resolveDependencies(
  bodies: JobSubmit[],
  jobs: NewJob[],
  fieldPrefix: string,
  queue: string,
): void {
  const edges = bodies.map(() => [] as number[]);
  for (const [i, b] of bodies.entries()) {
    if (!b.depends_on?.length) continue;
    const ids = new Set<string>();
    for (const [k, ref] of b.depends_on.entries()) {
      const field = `${fieldPrefix ? `${fieldPrefix}.${i}.` : ''}depends_on.${k}`;
      const bad = (message: string, code = 'validation_failed') =>
        new ApiError(400, code, `${field}: ${message}`, { problems: [{ field, message }] });
      if (typeof ref === 'number') {
        if (!fieldPrefix)
          throw bad(
            'an index names a job of the same batch: submit them together with POST /jobs/batch',
          );
        if (ref >= bodies.length) throw bad(`the batch has no job at index ${ref}`);
        if (ref === i) throw bad('a job cannot depend on itself', 'dependency_cycle');
        edges[i].push(ref);
        ids.add(jobs[ref].id);
      } else {
        if (queueOfJobId(ref) !== queue)
          throw bad(
            `must be a job of queue ${queue}: a job can only wait for jobs of its own queue`,
          );
        ids.add(ref);
      }
    }
    jobs[i].depends_on = [...ids];
  }
  const cycle = findCycle(edges);
  if (cycle) {
    const field = `${fieldPrefix}.${cycle[0]}.depends_on`;
    const message = `jobs ${cycle.join(' -> ')} -> ${cycle[0]} wait for each other`;
    throw new ApiError(400, 'dependency_cycle', `${field}: ${message}`, {
      problems: [{ field, message }],
    });
  }
}

/** Gives the jobs the ids an earlier request with the same key claimed, dependencies included. */
function adoptIds(jobs: NewJob[], ids: string[]): void {
  const renamed = new Map(jobs.map((j, i) => [j.id, ids[i]]));
  for (const j of jobs) {
    j.id = renamed.get(j.id)!;
    if (j.depends_on) j.depends_on = j.depends_on.map((d) => renamed.get(d) ?? d);
  }
}

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', encoder.encode(s));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}
