// Submissions: jobs stored all or none, their dependencies judged, an idempotent repeat answered.
import { insertJobs, upsertQueue, type Stmt } from '../src/db/write-jobs';
import { jobRowOf, mergeRows } from '../src/db/job-rows';
import type { JobRow } from '../src/db/schema';
import { dependencyRows, getJobsByIds, type DependencyRow } from '../src/db/read-jobs';
import { type ActiveJob } from './store';
import { ACTIVE_AT } from './retirement';
import type { NewJob, Outcome, Refusal } from '../src/protocol/queue-object';
import { PERSIST_WAIT_MS, type QueueShell } from './queue-shell';
import { debounceInto, recordDebounced } from './debounce';

/**
 * Takes the jobs, all or none, in one storage transaction with their D1 insert (logged in the
 * outbox), and answers once that commit is done. A repeat of jobs this object already took (an
 * idempotent retry) gets those jobs back, never new ones: `created` is false.
 */
export async function submit(
  s: QueueShell,
  queue: string,
  jobs: NewJob[],
  fieldPrefix = '',
): Promise<Outcome<{ jobs: JobRow[]; created: boolean; debounced?: boolean }>> {
  s.bind(queue);
  if (s.knows(jobs[0].id)) return existing(s, jobs);
  // Dependencies this object does not know are looked up in D1 first; everything after that runs
  // in one turn, so no dependency can finish between being judged and being waited for.
  const looked = await lookUpDependencies(s, jobs);
  if (s.knows(jobs[0].id)) return existing(s, jobs);
  const now = Date.now();
  const debounced = debounceInto(s, jobs, now);
  if (debounced) return debounced;
  const judged = judgeDependencies(s, jobs, looked, fieldPrefix);
  if (!judged.ok) return judged;
  let seq = s.store.nextSeq();
  const actives: ActiveJob[] = [];
  const rows: JobRow[] = [];
  let range = { first: -1, last: -1 };
  // A transaction that throws is rolled back; the Store's row cache must forget what it undid.
  try {
    s.ctx.storage.transactionSync(() => {
      for (const [i, j] of jobs.entries()) {
        const scheduled = j.run_at !== null && j.run_at > now;
        const waiting = judged.pending[i].size > 0;
        const active: ActiveJob = {
          seq: seq++,
          id: j.id,
          tenant: j.tenant,
          type: j.type,
          payload: j.payload,
          priority: j.priority,
          status: waiting ? 'waiting' : scheduled ? 'scheduled' : 'queued',
          attempts: 0,
          failures: 0,
          lease_losses: 0,
          max_retries: j.max_retries,
          timeout_sec: j.timeout_sec,
          executor: j.executor,
          token: null,
          worker_id: null,
          started_at: null,
          lease_deadline: null,
          // A waiting job keeps its run_at here: it is queued no earlier once its dependencies are done.
          next_attempt_at: scheduled || (waiting && j.run_at !== null) ? j.run_at : null,
          created_at: j.created_at,
          last_error: null,
          concurrency_key: j.concurrency_key,
          concurrency_limit: j.concurrency_limit,
          rate_limit: j.rate_limit ? JSON.stringify(j.rate_limit) : null,
          requires: j.requires ? JSON.stringify(j.requires) : null,
          backoff: j.backoff ? JSON.stringify(j.backoff) : null,
          callback_url: j.callback_url ?? null,
          failure_callback_url: j.failure_callback_url ?? null,
          payload_blob: j.payload_blob ?? null,
          traceparent: j.traceparent ?? null,
          tracestate: j.tracestate ?? null,
        };
        s.store.insertJob(active);
        if (waiting) s.deps.wait(active.seq, judged.pending[i]);
        recordDebounced(s, j, now);
        actives.push(active);
        rows.push(
          jobRowOf(active, queue, now, s.outbox.version(), {
            replayOf: j.replay_of ?? null,
            dependsOn: j.depends_on?.length ? JSON.stringify(j.depends_on) : null,
          }),
        );
      }
      s.store.setMeta('seq', String(seq - 1));
      s.store.setMeta(ACTIVE_AT, String(now));
      const stmts: Stmt[] = insertJobs(s.db, rows);
      if (!s.queueRecorded) stmts.push(upsertQueue(s.db, queue, now));
      range = s.outbox.add(stmts, now);
    });
  } catch (e) {
    s.store.forgetCachedRows();
    throw e;
  }
  // The object's commit is the acceptance: the jobs may be dispatched at once (their D1 rows follow
  // through the outbox, in order). D1 is a projection: waiting a moment for it before answering
  // keeps lists (which read D1) current in the normal case; if D1 is slow or down the jobs run all
  // the same, `GET /jobs/:id` answers from this object meanwhile, and the outbox writes them to D1
  // when it can (docs/protocol.md 1.2).
  s.queueRecorded = true;
  for (const a of actives) s.engine.accept(a);
  s.telemetry.submitted(actives.length, now);
  s.kick();
  await s.armAlarm();
  await s.outbox.landed(range, PERSIST_WAIT_MS);
  return { ok: true, jobs: rows, created: true };
}

/**
 * A repeat of a submission this object took: its jobs as D1 holds them once the outbox landed, or,
 * while D1 lags, as this object holds them (active, or finished and not yet written to D1).
 */
export async function existing(
  s: QueueShell,
  jobs: NewJob[],
): Promise<Outcome<{ jobs: JobRow[]; created: boolean }>> {
  await s.outbox.landed({ first: 0, last: Number.MAX_SAFE_INTEGER }, PERSIST_WAIT_MS);
  const ids = jobs.map((j) => j.id);
  const d1 = await getJobsByIds(s.db, jobs[0].tenant, ids).catch(() => []);
  const byId = new Map(d1.map((r) => [r.id, r]));
  const rows: JobRow[] = [];
  for (const id of ids) {
    const fresh = s.freshRow(id);
    const row = fresh ? mergeRows(byId.get(id), fresh) : byId.get(id);
    // Refused by an older version of this object (it undid jobs D1 had not taken in time).
    if (!row)
      return {
        ok: false,
        status: 503,
        code: 'storage_unavailable',
        message: 'these jobs were refused earlier (D1 did not take them); submit them again',
      };
    rows.push(row);
  }
  return { ok: true, jobs: rows, created: false };
}

/** D1's view of the dependencies this object neither holds nor remembers finishing. */
export async function lookUpDependencies(
  s: QueueShell,
  jobs: { id: string; depends_on?: string[] | null }[],
): Promise<Map<string, DependencyRow>> {
  const own = new Set(jobs.map((j) => j.id));
  const unknown = new Set<string>();
  for (const j of jobs)
    for (const id of j.depends_on ?? [])
      if (!own.has(id) && !s.store.jobById(id) && !s.deps.outcome(id)) unknown.add(id);
  return dependencyRows(s.db, [...unknown]);
}

/** What is known of a job another waits for: active here, finished here, or else as D1 has it. */
export function dependency(
  s: QueueShell,
  id: string,
  looked: Map<string, DependencyRow>,
): DependencyRow | null {
  return s.store.jobById(id) ?? s.deps.outcome(id) ?? looked.get(id) ?? null;
}

/**
 * What each job still waits for. A dependency of another tenant, or one nobody knows, is not found;
 * one that already failed or was cancelled means the job could never run, so it is refused.
 */
export function judgeDependencies(
  s: QueueShell,
  jobs: NewJob[],
  looked: Map<string, DependencyRow>,
  fieldPrefix: string,
): Outcome<{ pending: Set<string>[] }> {
  const own = new Set(jobs.map((j) => j.id));
  const pending = jobs.map(() => new Set<string>());
  for (const [i, job] of jobs.entries()) {
    for (const [k, id] of (job.depends_on ?? []).entries()) {
      const field = `${fieldPrefix ? `${fieldPrefix}.${i}.` : ''}depends_on.${k}`;
      const refuse = (status: 404 | 409, code: string, message: string): Refusal => ({
        ok: false,
        status,
        code,
        message: `${field}: ${message}`,
        details: { problems: [{ field, message }] },
      });
      if (own.has(id)) {
        pending[i].add(id);
        continue;
      }
      const known = dependency(s, id, looked);
      if (!known || known.tenant !== job.tenant)
        return refuse(404, 'dependency_not_found', `no job ${id}`);
      if (known.status === 'failed' || known.status === 'cancelled')
        return refuse(
          409,
          'dependency_failed',
          `job ${id} is ${known.status}, so this job could never run`,
        );
      if (known.status !== 'succeeded') pending[i].add(id);
    }
  }
  return { ok: true, pending };
}
