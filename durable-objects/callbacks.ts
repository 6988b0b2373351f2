import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../src/db/client';
import { jobs, type CallbackState } from '../src/db/schema';
import type { Stmt } from '../src/db/write-jobs';
import { log } from '../src/log';
import { courierFor, type Courier, type Parcel } from './courier';

/** A delivery waiting here to be handed to its courier: the parcel, and its row id. */
interface Delivery extends Parcel {
  id: number;
}

// Rows written before couriers existed may carry attempts already made; they are handed over as they are.
const SCHEMA = `CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, url TEXT NOT NULL, event TEXT NOT NULL,
  body TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL
)`;

/** A hand-over the courier did not take (it threw) is tried again this much later. */
const HANDOVER_RETRY_MS = 2_000;
const HANDOVER_BATCH = 200;

/**
 * The Scheduler's side of callbacks: a finished job's delivery is written to the Scheduler's storage
 * in the same turn as the state change that caused it, then handed to the courier of the receiver's
 * origin (durable-objects/courier.ts), which stores it, sends it and retries it. The Scheduler never
 * POSTs a callback itself, so a receiver that hangs cannot take the connections its dispatches and
 * cancels need (issue 12, item 2). A row leaves only once a courier has stored it; the courier
 * ignores a repeat, so a hand-over retried after a lost answer delivers once.
 */
export class CallbackDeliveries {
  private handing = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly couriers: DurableObjectNamespace<Courier>,
    private readonly db: Db,
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
    const pending: CallbackState = {
      url,
      event,
      status: 'pending',
      attempts: 0,
      last_status: null,
      last_error: null,
      next_attempt_at: now,
      delivered_at: null,
    };
    // Only over nothing: the courier may already have recorded an attempt when this lands (the
    // Scheduler's D1 writes can wait in its outbox), and its word is the later one.
    return this.db
      .update(jobs)
      .set({ callbackState: JSON.stringify(pending), updatedAt: now })
      .where(and(eq(jobs.id, jobId), isNull(jobs.callbackState)));
  }

  /** When the next hand-over is due, if any delivery is waiting for one. */
  nextAt(): number {
    const row = this.sql
      .exec<{ t: number | null }>('SELECT min(next_at) AS t FROM deliveries')
      .toArray()[0];
    return row?.t ?? Infinity;
  }

  /** Hands every due delivery to its courier: one RPC per origin. One pass at a time. */
  async deliverDue(now: number): Promise<void> {
    if (this.handing) return;
    this.handing = true;
    try {
      const due = this.sql
        .exec<Delivery & Record<string, SqlStorageValue>>(
          'SELECT * FROM deliveries WHERE next_at <= ? ORDER BY next_at LIMIT ?',
          now,
          HANDOVER_BATCH,
        )
        .toArray() as unknown as Delivery[];
      const byOrigin = new Map<string, Delivery[]>();
      for (const d of due) {
        const origin = new URL(d.url).origin;
        byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), d]);
      }
      await Promise.all([...byOrigin.values()].map((ds) => this.handOver(ds)));
    } finally {
      this.handing = false;
    }
  }

  private async handOver(ds: Delivery[]): Promise<void> {
    const parcels: Parcel[] = ds.map((d) => ({
      job_id: d.job_id,
      url: d.url,
      event: d.event,
      body: d.body,
      attempts: d.attempts,
      next_at: d.next_at,
    }));
    try {
      await courierFor(this.couriers, ds[0].url).accept(parcels);
      for (const d of ds) this.sql.exec('DELETE FROM deliveries WHERE id = ?', d.id);
    } catch (e) {
      const retryAt = Date.now() + HANDOVER_RETRY_MS;
      for (const d of ds)
        this.sql.exec('UPDATE deliveries SET next_at = ? WHERE id = ?', retryAt, d.id);
      log({
        event: 'callback_handover_deferred',
        origin: new URL(ds[0].url).origin,
        deliveries: ds.length,
        error: String(e).slice(0, 300),
      });
    }
  }
}
