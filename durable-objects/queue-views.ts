// Read-only views of the queue for operators, tenants and the chaos checker.
import type { JobRow } from '../src/db/schema';
import type { WorkerView } from '../src/protocol/worker';
import { type WorkerRow } from './store';
import type { QueueStats } from '../src/protocol/queue-object';
import type { QueueShell } from './queue-shell';

/**
 * The head of the queue in dispatch order, for operators and tests; with `tenant`, only that
 * tenant's jobs (a queue may be shared), looking deeper until `limit` of them are found.
 */
export async function peek(
  s: QueueShell,
  queue: string,
  limit: number,
  tenant?: string,
): Promise<{ id: string; priority: number; type: string; tenant: string; created_at: number }[]> {
  s.bind(queue);
  const now = Date.now();
  for (let window = limit * 2 + 16; ; window *= 4) {
    const entries = s.engine.peek(now, window);
    const out = [];
    for (const e of entries) {
      const job = s.store.jobBySeq(e.seq);
      if (!job || job.status !== 'queued') continue;
      if (tenant !== undefined && job.tenant !== tenant) continue;
      out.push({
        id: job.id,
        priority: job.priority,
        type: job.type,
        tenant: job.tenant,
        created_at: job.created_at,
      });
      if (out.length >= limit) break;
    }
    if (out.length >= limit || entries.length < window) return out;
  }
}

/**
 * The queue's figures; with `tenant`, the job figures are that tenant's alone (the nodes are shared,
 * so their counts stay whole, but `running` is the tenant's running jobs).
 */
export async function stats(s: QueueShell, queue: string, tenant?: string): Promise<QueueStats> {
  s.bind(queue);
  const now = Date.now();
  const workers = s.store.workers();
  const live = workers.filter((w) => s.isLive(w, now));
  const byStatus = s.store.countsByStatus(tenant);
  const mine = (seq: number) => tenant === undefined || s.store.jobBySeq(seq)?.tenant === tenant;
  const unroutable = [...s.engine.unroutableReasons()].flatMap(([seq, why]) =>
    mine(seq) ? [why] : [],
  );
  return {
    queue,
    by_status: byStatus,
    queued_by_priority: s.store.queuedByPriority(tenant),
    oldest_queued_at: s.store.oldestQueuedCreatedAt(tenant),
    workers: {
      registered: workers.length,
      live: live.length,
      draining: workers.filter((w) => w.status === 'draining').length,
      capacity: live.reduce((s, w) => s + w.capacity, 0),
      running:
        tenant === undefined
          ? workers.reduce((sum, w) => sum + s.engine.leases.running(w.id), 0)
          : (byStatus.running ?? 0),
    },
    unroutable: { count: unroutable.length, reasons: countValues(unroutable) },
    parked_by_concurrency_key:
      tenant === undefined ? s.engine.parkedSize : [...s.engine.parkedSeqs()].filter(mine).length,
    parked_by_rate_limit:
      tenant === undefined
        ? s.engine.rates.parkedSize
        : [...s.engine.rates.parkedSeqs()].filter(mine).length,
    paused: s.engine.controls.paused,
    concurrency_limit: s.engine.controls.concurrency_limit,
  };
}

export function view(s: QueueShell, w: WorkerRow, now: number): WorkerView {
  return {
    id: w.id,
    mode: w.mode,
    url: w.url,
    status: w.status,
    capacity: w.capacity,
    running: s.engine.leases.running(w.id),
    types: w.types,
    executors: w.executors,
    queues: w.queues,
    labels: w.labels,
    registered_at: new Date(w.registered_at).toISOString(),
    last_heartbeat_at: new Date(w.last_heartbeat_at).toISOString(),
    heartbeat_age_sec: Math.max(0, (now - w.last_heartbeat_at) / 1000),
  };
}

/**
 * Each job's state as this object knows it (the system of record): active here, finished here, or
 * `unknown` (never taken, or forgotten after retention). For operators and the chaos checker.
 */
export async function states(
  s: QueueShell,
  queue: string,
  ids: string[],
): Promise<Record<string, string>> {
  s.bind(queue);
  return Object.fromEntries(
    ids.map((id) => [id, s.store.jobById(id)?.status ?? s.deps.outcome(id)?.status ?? 'unknown']),
  );
}

function countValues(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/**
 * A job's row as this object knows it (active, or finished lately), for `GET /jobs/:id` while D1
 * lags: null when it is not here or is not `tenant`'s (null tenant: the operator's view).
 */
export function jobRow(
  s: QueueShell,
  queue: string,
  id: string,
  tenant: string | null,
): JobRow | null {
  s.bind(queue);
  const row = s.freshRow(id);
  return row && (tenant === null || row.tenant === tenant) ? row : null;
}
