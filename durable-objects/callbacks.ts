import { retryDelayMs } from '../src/core/backoff';
import type { Stmt } from '../src/db/write-jobs';
import { log } from '../src/log';
import type { Outbound } from './outbound';

/** What a job's callback delivery looks like on the job (D1 `callback_state`). */
export interface CallbackState {
  url: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  delivered_at: number | null;
}

interface Delivery {
  id: number;
  job_id: string;
  url: string;
  event: string;
  body: string;
  attempts: number;
  next_at: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, url TEXT NOT NULL, event TEXT NOT NULL,
  body TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL
)`;

export interface CallbackPolicy {
  secrets: string[];
  maxAttempts: number;
  timeoutMs: number;
}

/**
 * Callback deliveries of one queue's finished jobs, kept in the Durable Object's storage so a restart
 * loses none. Each is POSTed signed like a dispatch (with the callback keys: current and next), and
 * retried with capped exponential backoff (2 s, 4 s, ... 10 min) until a 2xx or `maxAttempts`. The
 * scheduler's alarm covers `nextAt()`.
 */
export class CallbackDeliveries {
  private delivering = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly outbound: Outbound,
    private readonly policy: () => CallbackPolicy,
    private readonly record: (jobId: string, state: CallbackState) => Stmt,
    private readonly persist: (stmts: Stmt[]) => Promise<void>,
  ) {
    sql.exec(SCHEMA);
  }

  /** Queues the delivery and returns the D1 statement that shows it pending on the job. */
  enqueue(jobId: string, url: string, event: string, payload: unknown, now: number): Stmt {
    this.sql.exec(
      'INSERT INTO deliveries (job_id, url, event, body, attempts, next_at) VALUES (?, ?, ?, ?, 0, ?)',
      jobId,
      url,
      event,
      JSON.stringify(payload),
      now,
    );
    return this.record(jobId, {
      url,
      event,
      status: 'pending',
      attempts: 0,
      last_status: null,
      last_error: null,
      next_attempt_at: now,
      delivered_at: null,
    });
  }

  nextAt(): number {
    const row = this.sql
      .exec<{ t: number | null }>('SELECT min(next_at) AS t FROM deliveries')
      .toArray()[0];
    return row?.t ?? Infinity;
  }

  /** Sends every delivery that is due; one pass at a time. */
  async deliverDue(now: number): Promise<void> {
    if (this.delivering) return;
    this.delivering = true;
    try {
      const due = this.sql
        .exec<Delivery & Record<string, SqlStorageValue>>(
          'SELECT * FROM deliveries WHERE next_at <= ? ORDER BY next_at LIMIT 50',
          now,
        )
        .toArray();
      await Promise.all(due.map((d) => this.attempt(d as Delivery)));
    } finally {
      this.delivering = false;
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    const policy = this.policy();
    const attempts = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await this.outbound.post(d.url, '', JSON.parse(d.body), {
        timeoutMs: policy.timeoutMs,
        secrets: policy.secrets,
      });
      status = res.status;
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const now = Date.now();
    const base = { url: d.url, event: d.event, attempts, last_status: status, last_error: error };
    let state: CallbackState;
    if (error === null) {
      this.sql.exec('DELETE FROM deliveries WHERE id = ?', d.id);
      state = { ...base, status: 'delivered', next_attempt_at: null, delivered_at: now };
      log({ event: 'callback_delivered', job_id: d.job_id, attempts, status });
    } else if (attempts >= policy.maxAttempts) {
      this.sql.exec('DELETE FROM deliveries WHERE id = ?', d.id);
      state = { ...base, status: 'failed', next_attempt_at: null, delivered_at: null };
      log({ event: 'callback_failed', job_id: d.job_id, attempts, error });
    } else {
      const next = now + retryDelayMs(attempts, { baseSec: 1, maxSec: 600 });
      this.sql.exec(
        'UPDATE deliveries SET attempts = ?, next_at = ? WHERE id = ?',
        attempts,
        next,
        d.id,
      );
      state = { ...base, status: 'pending', next_attempt_at: next, delivered_at: null };
      log({
        event: 'callback_retry_scheduled',
        job_id: d.job_id,
        attempts,
        error,
        next_attempt_at: next,
      });
    }
    await this.persist([this.record(d.job_id, state)]);
  }
}
