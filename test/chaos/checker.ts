/**
 * The queue checker, after Jepsen's: given what the clients were told (which jobs were accepted), what
 * the wire carried (every dispatch and result report, with the API's answer), what the processes
 * logged and the final state, count the ways the promise in docs/protocol.md was broken:
 *
 * - lost: accepted (201/200) but unknown to the API at the end;
 * - stuck: known but not terminal once the run is over;
 * - stale_accepted: a result report answered 2xx although a newer attempt of the job had already been
 *   dispatched when the report was sent, or accepted after a report of a newer attempt;
 * - dup_recorded: the outcome of a job recorded twice (two 2xx answers to success reports, or two
 *   `job_completed` events in the API log);
 * - dup_exec: jobs that nodes completed under more than one attempt (at-least-once allows it), and
 *   unexplained: those of them with no lease loss, timeout or failed attempt on record for the job;
 * - rerun_after_success: a job dispatched again after the API had answered 2xx to its success;
 * - d1_diverged: a job whose final state in D1 (what lists show) differs from the Scheduler object's.
 *
 * Pure: no I/O, so the rules can be read and tested on their own.
 */
import type { DispatchRecord, ReportRecord } from './proxies';

export type ApiEvent = Record<string, unknown> & { event: string };

export interface FinalJob {
  id: string;
  status: string;
  attempts: number;
}

export interface CheckInput {
  /** Job ids the API accepted (201, or 200 for an idempotent repeat). */
  accepted: string[];
  /** Final state of each accepted job the API still knows. */
  final: Map<string, FinalJob>;
  reports: ReportRecord[];
  dispatches: DispatchRecord[];
  /** `job_completed` lines of every node process. */
  nodeCompletions: Array<{ job_id: string; attempt: number; worker_id: string }>;
  apiEvents: ApiEvent[];
  /** The API was restarted during the run: its log may miss lines written just before the crash. */
  apiRestarted: boolean;
  /** Late reports replayed after a pause, with the API's answer (all must be 409). */
  lateReports: Array<{ job_id: string; attempt: number; status: number }>;
  /** Each accepted job's state as the queue's Scheduler object holds it, at the end. */
  objectStates: Map<string, string>;
}

export interface Counts {
  accepted: number;
  succeeded: number;
  failed: number;
  lost: number;
  stuck: number;
  stale_accepted: number;
  dup_recorded: number;
  dup_exec: number;
  unexplained: number;
  /** Duplicates explained only by the API restart (its log lost the lines that would say why). */
  explained_by_restart: number;
  late_refused: number;
  late_accepted: number;
  rerun_after_success: number;
  d1_diverged: number;
}

export interface CheckResult {
  counts: Counts;
  /** One line per violation, with the job id and the evidence. */
  violations: string[];
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const LEASE_ENDED = new Set(['job_requeued', 'job_retry_scheduled']);

export function check(input: CheckInput): CheckResult {
  const violations: string[] = [];
  const counts: Counts = {
    accepted: input.accepted.length,
    succeeded: 0,
    failed: 0,
    lost: 0,
    stuck: 0,
    stale_accepted: 0,
    dup_recorded: 0,
    dup_exec: 0,
    unexplained: 0,
    explained_by_restart: 0,
    late_refused: 0,
    late_accepted: 0,
    rerun_after_success: 0,
    d1_diverged: 0,
  };
  const ours = new Set(input.accepted);

  for (const id of input.accepted) {
    const job = input.final.get(id);
    if (!job) {
      counts.lost++;
      violations.push(`lost: ${id} was accepted but the API does not know it`);
    } else if (!TERMINAL.has(job.status)) {
      counts.stuck++;
      violations.push(`stuck: ${id} is ${job.status} (attempts ${job.attempts})`);
    } else if (job.status === 'succeeded') counts.succeeded++;
    else if (job.status === 'failed') counts.failed++;
  }

  const dispatchesOf = groupBy(
    input.dispatches.filter((d) => ours.has(d.job_id)),
    (d) => d.job_id,
  );
  const reportsOf = groupBy(
    input.reports.filter((r) => ours.has(r.job_id)),
    (r) => r.job_id,
  );
  for (const [id, reports] of reportsOf) {
    const sent = dispatchesOf.get(id) ?? [];
    let newestAccepted = 0;
    let successes = 0;
    for (const r of [...reports].sort((a, b) => a.at - b.at)) {
      const ok = r.statuses.filter((s) => s >= 200 && s < 300).length;
      if (ok === 0) continue;
      if (r.exit_code === 0) successes += ok;
      const newer = sent.find((d) => d.attempt > r.attempt && d.at < r.at);
      if (newer || r.attempt < newestAccepted) {
        counts.stale_accepted++;
        violations.push(
          `stale_accepted: ${id} attempt ${r.attempt} from ${r.worker_id} answered ${r.statuses.join('/')}, ` +
            (newer
              ? `but attempt ${newer.attempt} was dispatched to ${newer.worker_id} ${r.at - newer.at} ms before`
              : `after attempt ${newestAccepted} was accepted`),
        );
      }
      newestAccepted = Math.max(newestAccepted, r.attempt);
    }
    if (successes > 1) {
      counts.dup_recorded++;
      violations.push(
        `dup_recorded: ${id} had ${successes} success reports answered 2xx (${reports.map((r) => `#${r.attempt}:${r.statuses.join('/') || 'lost'}`).join(' ')})`,
      );
    }
  }

  const apiOf = groupBy(
    input.apiEvents.filter((e) => typeof e.job_id === 'string' && ours.has(e.job_id)),
    (e) => e.job_id as string,
  );
  for (const [id, events] of apiOf) {
    const done = events.filter((e) => e.event === 'job_completed');
    if (
      done.length > 1 &&
      !(reportsOf.get(id) ?? []).some(
        (r) => r.exit_code === 0 && r.statuses.filter((s) => s < 300).length > 1,
      )
    ) {
      counts.dup_recorded++;
      violations.push(
        `dup_recorded: ${id} has ${done.length} job_completed lines in the API log (attempts ${done.map((e) => e.attempt).join(', ')})`,
      );
    }
  }

  for (const [id, runs] of groupBy(
    input.nodeCompletions.filter((c) => ours.has(c.job_id)),
    (c) => c.job_id,
  )) {
    const attempts = [...new Set(runs.map((r) => r.attempt))].sort((a, b) => a - b);
    if (attempts.length < 2) continue;
    counts.dup_exec++;
    // Every attempt but the last must have ended on the scheduler's side for a reason it logged: a lost
    // lease (reaped, re-registered, not in two heartbeats) is `job_requeued`, a failed or timed-out
    // attempt is `job_retry_scheduled`, each with the attempt it ended.
    const events = apiOf.get(id) ?? [];
    const logged = (a: number) =>
      events.some((e) => LEASE_ENDED.has(e.event) && Number(e.attempt) === a);
    const earlier = attempts.slice(0, -1);
    const explained = earlier.every(
      (a) => logged(a) || (input.apiRestarted && (input.final.get(id)?.attempts ?? 0) > a),
    );
    if (explained && !earlier.every(logged)) counts.explained_by_restart++;
    if (!explained) {
      counts.unexplained++;
      violations.push(
        `unexplained duplicate: ${id} completed on nodes under attempts ${attempts.join(', ')} ` +
          `with no lease loss or failed attempt logged by the API (events: ${events.map((e) => `${e.event}#${e.attempt}`).join(' ') || 'none'})`,
      );
    }
  }

  // Once the API answered 2xx to a job's success, no attempt of it may be dispatched again.
  for (const [id, reports] of reportsOf) {
    const accepted = reports
      .filter((r) => r.exit_code === 0 && r.statuses.some((s) => s >= 200 && s < 300))
      .map((r) => r.answered_at ?? Infinity);
    const acceptedAt = Math.min(...accepted);
    const again = (dispatchesOf.get(id) ?? []).filter((d) => d.at > acceptedAt);
    if (again.length > 0) {
      counts.rerun_after_success++;
      violations.push(
        `rerun_after_success: ${id} was dispatched again (attempt ${again.map((d) => d.attempt).join(', ')}) ` +
          `${again[0].at - acceptedAt} ms after its success was accepted`,
      );
    }
  }

  // D1 is a projection of the object: at the end they agree on every job.
  for (const id of input.accepted) {
    const d1 = input.final.get(id)?.status;
    const object = input.objectStates.get(id);
    if (d1 !== undefined && d1 !== object) {
      counts.d1_diverged++;
      violations.push(
        `d1_diverged: ${id} is ${d1} in D1 but ${object ?? 'not known'} in its Scheduler object`,
      );
    }
  }

  for (const l of input.lateReports) {
    if (l.status === 409) counts.late_refused++;
    else {
      counts.late_accepted++;
      violations.push(
        `late report accepted: ${l.job_id} attempt ${l.attempt} answered ${l.status} after its node was reaped`,
      );
    }
  }
  return { counts, violations };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

/** JSON lines of the API's log (wrangler's output arrives in arbitrary chunks, mixed with its own text). */
export function parseApiLog(chunks: string[]): ApiEvent[] {
  const out: ApiEvent[] = [];
  for (const line of chunks.join('').split('\n')) {
    const start = line.indexOf('{"');
    if (start < 0) continue;
    try {
      const parsed = JSON.parse(line.slice(start)) as ApiEvent;
      if (typeof parsed.event === 'string') out.push(parsed);
    } catch {
      // wrangler's own text
    }
  }
  return out;
}
