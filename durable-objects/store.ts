import type { JobStatus } from '../src/protocol/job';
import type { ExecutorName } from '../src/protocol/common';
import type { WorkerMode, WorkerStatus } from '../src/protocol/worker';

/** A job the scheduler still owns (not terminal): the engine's job row (src/core/engine/job.ts). */
export type { EngineJob as ActiveJob } from '../src/core/engine/job';
import type { EngineJob as ActiveJob } from '../src/core/engine/job';
import { RowCache } from './row-cache';
import type { RateStart } from '../src/core/rate-gate';
import { NO_CONTROLS, type QueueControls } from '../src/core/engine/flow';

/** The meta key of the queue's controls (pause, cap): also what keeps retirement from clearing it. */
export const CONTROLS = 'controls';

export interface WorkerRow {
  id: string;
  url: string;
  capacity: number;
  types: string[] | null;
  executors: ExecutorName[];
  queues: string[];
  labels: Record<string, string>;
  status: WorkerStatus;
  registered_at: number;
  last_heartbeat_at: number;
  /** `pull` nodes have no url (''): they long-poll for their jobs. */
  mode: WorkerMode;
  /** The node key it registered with (src/core/node-key.ts); null for the shared WORKER_TOKEN. */
  key_id: string | null;
  /** The HMAC key of its dispatches: its node key's, or null for WORKER_TOKEN. */
  sign_key: string | null;
}

const JOB_COLUMNS = [
  'seq',
  'id',
  'tenant',
  'type',
  'payload',
  'priority',
  'status',
  'attempts',
  'failures',
  'lease_losses',
  'max_retries',
  'timeout_sec',
  'executor',
  'token',
  'worker_id',
  'started_at',
  'lease_deadline',
  'next_attempt_at',
  'created_at',
  'last_error',
  'concurrency_key',
  'concurrency_limit',
  'rate_limit',
  'requires',
  'backoff',
  'callback_url',
  'failure_callback_url',
  'payload_blob',
  'traceparent',
  'tracestate',
] as const;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL,
  priority INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, failures INTEGER NOT NULL,
  lease_losses INTEGER NOT NULL, max_retries INTEGER NOT NULL, timeout_sec INTEGER NOT NULL, executor TEXT,
  token TEXT, worker_id TEXT, started_at INTEGER, lease_deadline INTEGER, next_attempt_at INTEGER,
  created_at INTEGER NOT NULL, last_error TEXT, concurrency_key TEXT, concurrency_limit INTEGER,
  requires TEXT, backoff TEXT, callback_url TEXT, failure_callback_url TEXT, payload_blob TEXT,
  traceparent TEXT, tracestate TEXT, rate_limit TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, capacity INTEGER NOT NULL, types TEXT, executors TEXT NOT NULL,
  queues TEXT NOT NULL, labels TEXT NOT NULL, status TEXT NOT NULL, registered_at INTEGER NOT NULL,
  last_heartbeat_at INTEGER NOT NULL, mode TEXT NOT NULL DEFAULT 'push', key_id TEXT, sign_key TEXT
);
CREATE TABLE IF NOT EXISTS revoked_node_keys (key_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rate_starts (key TEXT NOT NULL, at INTEGER NOT NULL, period_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rate_starts_key ON rate_starts (key, at);
`;

/**
 * The Durable Object's storage: what it needs to rebuild its heaps after eviction or restart. D1 stays
 * the system of record for every job; this holds only jobs that are not yet terminal, and the workers.
 */
export class Store {
  /** The rows this object wrote or read lately, so a dispatch does not read back what it just wrote. */
  private readonly rows = new RowCache();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    // Columns added after the first release: storage written by an older version gains them here.
    const have = new Set(
      sql
        .exec<{ name: string }>('PRAGMA table_info(jobs)')
        .toArray()
        .map((c) => c.name),
    );
    for (const col of [
      'callback_url',
      'failure_callback_url',
      'payload_blob',
      'traceparent',
      'tracestate',
      'rate_limit',
    ])
      if (!have.has(col)) sql.exec(`ALTER TABLE jobs ADD COLUMN ${col} TEXT`);
    const workerCols = new Set(
      sql
        .exec<{ name: string }>('PRAGMA table_info(workers)')
        .toArray()
        .map((c) => c.name),
    );
    if (!workerCols.has('mode'))
      sql.exec("ALTER TABLE workers ADD COLUMN mode TEXT NOT NULL DEFAULT 'push'");
    for (const col of ['key_id', 'sign_key'])
      if (!workerCols.has(col)) sql.exec(`ALTER TABLE workers ADD COLUMN ${col} TEXT`);
  }

  meta(key: string): string | null {
    const row = this.sql.exec<{ v: string }>('SELECT v FROM meta WHERE k = ?', key).toArray()[0];
    return row ? row.v : null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec(
      'INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
      key,
      value,
    );
  }

  nextSeq(): number {
    const row = this.sql.exec<{ s: number | null }>('SELECT max(seq) AS s FROM jobs').toArray()[0];
    const stored = Number(this.meta('seq') ?? 0);
    return Math.max(stored, row?.s ?? 0) + 1;
  }

  insertJob(job: ActiveJob): void {
    const placeholders = JOB_COLUMNS.map(() => '?').join(', ');
    this.sql.exec(
      `INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES (${placeholders})`,
      ...JOB_COLUMNS.map((c) => job[c]),
    );
    this.rows.put(job);
  }

  jobBySeq(seq: number): ActiveJob | null {
    const cached = this.rows.bySeq(seq);
    if (cached) return cached;
    const row =
      (this.sql
        .exec<ActiveJob & Record<string, SqlStorageValue>>('SELECT * FROM jobs WHERE seq = ?', seq)
        .toArray()[0] as ActiveJob) ?? null;
    if (row) this.rows.put(row);
    return row;
  }

  jobById(id: string): ActiveJob | null {
    const cached = this.rows.byId(id);
    if (cached) return cached;
    const row =
      (this.sql
        .exec<ActiveJob & Record<string, SqlStorageValue>>('SELECT * FROM jobs WHERE id = ?', id)
        .toArray()[0] as ActiveJob) ?? null;
    if (row) this.rows.put(row);
    return row;
  }

  /** Writes back every column but the identity ones. */
  saveJob(job: ActiveJob): void {
    const cols = JOB_COLUMNS.filter((c) => c !== 'seq' && c !== 'id');
    this.sql.exec(
      `UPDATE jobs SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE seq = ?`,
      ...cols.map((c) => job[c]),
      job.seq,
    );
    this.rows.put(job);
  }

  deleteJob(seq: number): void {
    this.sql.exec('DELETE FROM jobs WHERE seq = ?', seq);
    this.rows.drop(seq);
  }

  /** After a storage transaction that threw (rolled back): the cache may hold what it undid. */
  forgetCachedRows(): void {
    this.rows.clear();
  }

  jobsWithStatus(status: JobStatus): ActiveJob[] {
    return this.sql
      .exec('SELECT * FROM jobs WHERE status = ? ORDER BY seq', status)
      .toArray() as unknown as ActiveJob[];
  }

  /** (seq, key) pairs for rebuilding a heap, in seq order. */
  jobKeys(
    status: JobStatus,
    keyColumn: 'priority' | 'next_attempt_at' | 'lease_deadline',
  ): { seq: number; key: number }[] {
    return this.sql
      .exec<{ seq: number; key: number }>(
        `SELECT seq, ${keyColumn} AS key FROM jobs WHERE status = ? ORDER BY seq`,
        status,
      )
      .toArray();
  }

  runningJobsOf(workerId: string): ActiveJob[] {
    return this.sql
      .exec('SELECT * FROM jobs WHERE status = ? AND worker_id = ?', 'running', workerId)
      .toArray() as unknown as ActiveJob[];
  }

  // `tenant` narrows each figure to one tenant's jobs (a tenant's view of a queue it shares); these
  // scans are for reads by operators and tenants, not for the dispatch path.
  countsByStatus(tenant?: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.sql.exec<{ status: string; n: number }>(
      `SELECT status, count(*) AS n FROM jobs${tenant === undefined ? '' : ' WHERE tenant = ?'} GROUP BY status`,
      ...(tenant === undefined ? [] : [tenant]),
    ))
      out[r.status] = r.n;
    return out;
  }

  queuedByPriority(tenant?: string): Record<string, number> {
    const out: Record<string, number> = { '0': 0, '1': 0, '2': 0 };
    for (const r of this.sql.exec<{ priority: number; n: number }>(
      `SELECT priority, count(*) AS n FROM jobs WHERE status = 'queued'${tenant === undefined ? '' : ' AND tenant = ?'} GROUP BY priority`,
      ...(tenant === undefined ? [] : [tenant]),
    ))
      out[String(r.priority)] = r.n;
    return out;
  }

  oldestQueuedCreatedAt(tenant?: string): number | null {
    const row = this.sql
      .exec<{ t: number | null }>(
        `SELECT min(created_at) AS t FROM jobs WHERE status = 'queued'${tenant === undefined ? '' : ' AND tenant = ?'}`,
        ...(tenant === undefined ? [] : [tenant]),
      )
      .toArray()[0];
    return row?.t ?? null;
  }

  /** Workers are read on every dispatch pass: kept in memory, written through to storage. */
  private workerCache: Map<string, WorkerRow> | null = null;

  workers(): WorkerRow[] {
    if (!this.workerCache) {
      const rows = this.sql
        .exec<Record<string, SqlStorageValue>>('SELECT * FROM workers ORDER BY registered_at, id')
        .toArray()
        .map(toWorker);
      this.workerCache = new Map(rows.map((w) => [w.id, w]));
    }
    return [...this.workerCache.values()];
  }

  worker(id: string): WorkerRow | undefined {
    this.workers();
    return this.workerCache!.get(id);
  }

  saveWorker(w: WorkerRow): void {
    this.sql.exec(
      `INSERT INTO workers (id, url, capacity, types, executors, queues, labels, status, registered_at, last_heartbeat_at, mode, key_id, sign_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, capacity = excluded.capacity, types = excluded.types,
         executors = excluded.executors, queues = excluded.queues, labels = excluded.labels, status = excluded.status,
         registered_at = excluded.registered_at, last_heartbeat_at = excluded.last_heartbeat_at, mode = excluded.mode,
         key_id = excluded.key_id, sign_key = excluded.sign_key`,
      w.id,
      w.url,
      w.capacity,
      w.types ? JSON.stringify(w.types) : null,
      JSON.stringify(w.executors),
      JSON.stringify(w.queues),
      JSON.stringify(w.labels),
      w.status,
      w.registered_at,
      w.last_heartbeat_at,
      w.mode,
      w.key_id,
      w.sign_key,
    );
    if (this.workerCache) {
      // A re-registration moves the node to the end of the round-robin order, as the SELECT would.
      if (this.workerCache.get(w.id) !== w) this.workerCache.delete(w.id);
      this.workerCache.set(w.id, w);
    }
  }

  deleteWorker(id: string): void {
    this.sql.exec('DELETE FROM workers WHERE id = ?', id);
    this.workerCache?.delete(id);
  }

  /** Remembers a revoked node key for `keepMs`, and forgets those remembered longer. */
  revokeNodeKey(keyId: string, nowMs: number, keepMs: number): void {
    this.sql.exec('DELETE FROM revoked_node_keys WHERE revoked_at < ?', nowMs - keepMs);
    this.sql.exec(
      'INSERT INTO revoked_node_keys (key_id, revoked_at) VALUES (?, ?) ON CONFLICT (key_id) DO NOTHING',
      keyId,
      nowMs,
    );
  }

  isRevokedNodeKey(keyId: string): boolean {
    return (
      this.sql.exec('SELECT 1 FROM revoked_node_keys WHERE key_id = ?', keyId).toArray().length > 0
    );
  }

  /** A rate-limited job started (src/core/rate-gate.ts); its key's starts before `forgetBefore` go. */
  recordStart(start: RateStart, forgetBefore: number): void {
    this.sql.exec('DELETE FROM rate_starts WHERE key = ? AND at <= ?', start.key, forgetBefore);
    this.sql.exec(
      'INSERT INTO rate_starts (key, at, period_ms) VALUES (?, ?, ?)',
      start.key,
      start.at,
      start.period_ms,
    );
  }

  rateStarts(): RateStart[] {
    return this.sql
      .exec<{ key: string; at: number; period_ms: number }>(
        'SELECT key, at, period_ms FROM rate_starts ORDER BY key, at',
      )
      .toArray();
  }

  /** Forgets the starts no window needs any more (keys not started again for their period). */
  pruneRateStarts(now: number): void {
    this.sql.exec(
      `DELETE FROM rate_starts WHERE at <= ? - (SELECT max(period_ms) FROM rate_starts r WHERE r.key = rate_starts.key)`,
      now,
    );
  }

  /** The operator's pause and cap (src/core/engine/flow.ts), kept as one meta value. */
  controls(): QueueControls {
    const stored = this.meta(CONTROLS);
    return stored ? { ...NO_CONTROLS, ...(JSON.parse(stored) as QueueControls) } : NO_CONTROLS;
  }

  setControls(controls: QueueControls): void {
    this.setMeta(CONTROLS, JSON.stringify(controls));
  }

  /** Just what the ready queue needs, streamed: a rebuild must not hold every payload in memory. */
  queuedEntries(): Iterable<{ seq: number; tenant: string; priority: number; created_at: number }> {
    return this.sql.exec<{ seq: number; tenant: string; priority: number; created_at: number }>(
      "SELECT seq, tenant, priority, created_at FROM jobs WHERE status = 'queued'",
    );
  }
}

function toWorker(r: Record<string, SqlStorageValue>): WorkerRow {
  return {
    id: r.id as string,
    url: r.url as string,
    capacity: r.capacity as number,
    types: r.types ? (JSON.parse(r.types as string) as string[]) : null,
    executors: JSON.parse(r.executors as string),
    queues: JSON.parse(r.queues as string),
    labels: JSON.parse(r.labels as string),
    status: r.status as WorkerStatus,
    registered_at: r.registered_at as number,
    last_heartbeat_at: r.last_heartbeat_at as number,
    mode: r.mode === 'pull' ? 'pull' : 'push',
    key_id: (r.key_id as string | null) ?? null,
    sign_key: (r.sign_key as string | null) ?? null,
  };
}
