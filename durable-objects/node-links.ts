// The object's requests to its nodes: dispatches with what their answers mean, and kills.
import { retryDelayMs } from '../src/core/backoff';
import type { Claim } from '../src/core/engine/job';
import type { DispatchedJob } from '../src/protocol/dispatch';
import { DispatchAnswer } from '../src/protocol/dispatch';
import type { Lease } from '../src/protocol/worker';
import { log } from '../src/log';
import { type WorkerRow } from './store';
import { retryAfterMs } from './outbound';
import { withBlobUrls } from './blob-urls';
import type { QueueShell } from './queue-shell';
import { endPull } from './pull-desk';

export async function send(
  s: QueueShell,
  node: WorkerRow,
  unsigned: DispatchedJob[],
): Promise<void> {
  const jobs = await withBlobUrls(unsigned, s.config.WORKER_TOKEN, Date.now());
  const started = Date.now();
  let res: Response;
  try {
    res = await s.outbound.post(
      node.url,
      '/run',
      { worker_id: node.id, jobs },
      { key: node.sign_key },
    );
  } catch (e) {
    return dispatchFailed(s, node, jobs, `dispatch to ${node.id} failed: ${errorText(e)}`);
  }
  const now = Date.now();
  if (res.status === 202 || res.status === 200) {
    const parsed = DispatchAnswer.safeParse(await res.json().catch(() => null));
    s.dispatchFailures.delete(node.id);
    const rejected = parsed.success ? parsed.data.rejected : [];
    const rejectedIds = new Set(
      rejected.filter((r) => r.reason !== 'duplicate').map((r) => r.job_id),
    );
    logDispatched(
      s,
      node,
      jobs.filter((j) => !rejectedIds.has(j.job_id)),
      { latency_ms: now - started },
    );
    if (rejectedIds.size)
      s.handBack(
        jobs.filter((j) => rejectedIds.has(j.job_id)),
        `node ${node.id} declined`,
        now,
      );
  } else if (res.status === 429 || res.status === 503) {
    // Busy or draining: not the job's fault, so no retry is spent; the node is skipped for a while.
    const wait = retryAfterMs(res.headers.get('retry-after'), now) ?? 1000;
    s.unavailableUntil.set(node.id, now + wait);
    s.handBack(jobs, `node ${node.id} answered ${res.status}`, now);
  } else {
    const text = (await res.text().catch(() => '')).slice(0, 200);
    return dispatchFailed(
      s,
      node,
      jobs,
      `dispatch to ${node.id} failed: HTTP ${res.status} ${text}`.trim(),
    );
  }
  s.kick();
  await s.armAlarm();
}

export async function dispatchFailed(
  s: QueueShell,
  node: WorkerRow,
  jobs: DispatchedJob[],
  error: string,
): Promise<void> {
  const now = Date.now();
  const failures = (s.dispatchFailures.get(node.id) ?? 0) + 1;
  s.dispatchFailures.set(node.id, failures);
  s.unavailableUntil.set(node.id, now + retryDelayMs(failures - 1, s.backoff()));
  log({
    event: 'dispatch_failed',
    worker_id: node.id,
    jobs: jobs.length,
    error,
    queue: s.queue,
  });
  await s.persist(s.apply(s.engine.failDispatch(jobs.map(claimOf), error, now), now));
  s.kick();
  await s.armAlarm();
}

/** Best effort: if a push node misses this, its next heartbeat is answered with the lease to kill. */
export function killOnNode(s: QueueShell, nodeId: string, lease: Lease): void {
  const node = s.store.worker(nodeId);
  // A pull node cannot be reached: it hears of the lease in its next heartbeat's `kill` list.
  if (!node || node.mode === 'pull') return;
  void s.outbound
    .post(
      node.url,
      '/cancel',
      { worker_id: node.id, jobs: [lease] },
      { timeoutMs: 5000, key: node.sign_key },
    )
    .then((res) =>
      log({
        event: 'job_kill_sent',
        job_id: lease.job_id,
        worker_id: node.id,
        attempt: lease.attempt,
        status: res.status,
      }),
    )
    .catch((e) =>
      log({
        event: 'job_kill_failed',
        job_id: lease.job_id,
        worker_id: node.id,
        error: errorText(e),
      }),
    );
}

/** dispatchPass's delivery to a pull node: the jobs answer its waiting request. */
export function deliverPulled(s: QueueShell, node: WorkerRow, jobs: DispatchedJob[]): void {
  // dispatchPass is synchronous and picks pull nodes only while they wait, so the waiter is there.
  endPull(s, node.id, undefined, jobs);
  logDispatched(s, node, jobs, { mode: 'pull' });
}

/** Per job, so debug: at info a line a job was workerd's largest cost (bench:costs); /metrics counts them. */
function logDispatched(
  s: QueueShell,
  node: WorkerRow,
  jobs: DispatchedJob[],
  extra: Record<string, unknown>,
): void {
  for (const j of jobs)
    log({
      level: 'debug',
      event: 'job_dispatched',
      job_id: j.job_id,
      worker_id: node.id,
      attempt: j.attempt,
      ...extra,
      queue: s.queue,
    });
}

/** A dispatched job's attempt, as the node it went to holds it. */
function claimOf(j: DispatchedJob): Claim {
  return { job_id: j.job_id, attempt: j.attempt, token: j.token };
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
