import { DurableObject } from 'cloudflare:workers';
import type { Recommendation } from '../src/core/autoscale';
import { retryDelayMs } from '../src/core/backoff';
import { callbackWebhookId, webhookHeaders } from '../src/core/standard-webhooks';
import { configOf, type Config, type Env } from '../src/env';
import { dbOf } from '../src/db/client';
import { updateJob } from '../src/db/write-jobs';
import { log } from '../src/log';
import type { CallbackState } from '../src/db/schema';
import { D1Writer } from './d1-writer';
import { Outbound } from './outbound';
import { announce } from './scale-webhook';
import type { Announcer } from './telemetry';

/** One callback delivery as the Scheduler hands it over. */
export interface Parcel {
  job_id: string;
  url: string;
  event: string;
  /** The JSON body, exactly as it is signed and sent. */
  body: string;
  /** Attempts already made (a delivery the Scheduler began before couriers existed). */
  attempts: number;
  next_at: number;
}

/** Deliveries in flight at once: the platform's limit per invocation, all of them this origin's. */
const SLOTS = 6;
/** A D1 write of a delivery's state that failed is tried again this much later. */
const PROJECT_RETRY_MS = 5_000;

// `state` is the CallbackState D1 has not taken yet; a finished delivery stays until D1 has it.
const SCHEMA = `CREATE TABLE IF NOT EXISTS parcels (
  job_id TEXT NOT NULL, event TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, state TEXT,
  PRIMARY KEY (job_id, event)
)`;

type Row = Parcel & { done: number; state: string | null };

/** The courier for a callback URL: one per receiver origin, so no two origins share connections. */
export function courierFor(ns: DurableObjectNamespace<Courier>, url: string) {
  return ns.get(ns.idFromName(new URL(url).origin));
}

/**
 * The Scheduler's announcer: the scale webhook leaves from the courier of its origin too, so a
 * webhook receiver that hangs holds none of the connections dispatches need. Without
 * SCALE_WEBHOOK_URL nothing is sent and the log line is written here, as before.
 */
export function announceThroughCourier(ns: DurableObjectNamespace<Courier>): Announcer {
  return async (queue, rec, config) => {
    if (!config.SCALE_WEBHOOK_URL) return announce(queue, rec, config);
    await courierFor(ns, config.SCALE_WEBHOOK_URL).announce(queue, rec);
    return true;
  };
}

/**
 * The Courier Durable Object delivers the callbacks of one receiver origin. A Scheduler hands each
 * delivery over in one RPC, answered as soon as it is stored here, so the Scheduler's own outbound
 * connections are left to dispatches and cancels: a receiver that hangs holds only this object's
 * connections, and delays only its own deliveries (issue 12, item 2).
 *
 * Each delivery is POSTed signed per Standard Webhooks with the callback keys (its webhook-id the
 * same on every attempt) and retried with capped exponential backoff (2 s, 4 s, ... 10 min) until
 * a 2xx or CALLBACK_MAX_ATTEMPTS. Storage survives a restart, memory does not: an attempt under way
 * pushes its row's next_at past its timeout first, so the alarm picks it up again if the object is
 * evicted mid-flight. The job's `callback_state` in D1 is a projection
 * this object alone writes after the hand-over.
 */
export class Courier extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly writer: D1Writer;
  private readonly outbound: Outbound;
  /** Keys of rows with an attempt or a D1 write under way. */
  private readonly busy = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.writer = new D1Writer(dbOf(env.DB));
    this.outbound = new Outbound(
      () => '',
      () => this.config.CALLBACK_TIMEOUT_MS,
      undefined,
      SLOTS,
    );
  }

  private get config(): Config {
    const parsed = configOf(this.env);
    if (!parsed.ok)
      throw new Error(`config_invalid: ${parsed.problems.map((p) => p.variable).join(', ')}`);
    return parsed.config;
  }

  /** Stores the deliveries (a repeat of one already held is ignored) and starts sending. */
  async accept(parcels: Parcel[]): Promise<number> {
    let stored = 0;
    for (const p of parcels)
      stored += this.sql
        .exec(
          'INSERT INTO parcels (job_id, event, url, body, attempts, next_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING job_id',
          p.job_id,
          p.event,
          p.url,
          p.body,
          p.attempts,
          p.next_at,
        )
        .toArray().length;
    this.pump();
    await this.arm();
    return stored;
  }

  /**
   * Sends a scale announcement (durable-objects/scale-webhook.ts: a few tries with backoff, best
   * effort as it always was) and answers at once, before the receiver does.
   */
  announce(queue: string, rec: Recommendation): void {
    void announce(queue, rec, this.config).catch(() => false);
  }

  async alarm(): Promise<void> {
    this.pump();
    this.projectOwed();
    await this.arm();
  }

  /** Starts due deliveries while slots are free; each frees its slot and calls this again. */
  private pump(): void {
    const free = SLOTS - [...this.busy].filter((k) => !k.startsWith('d1:')).length;
    if (free <= 0) return;
    const now = Date.now();
    const due = this.sql
      .exec<Row & Record<string, SqlStorageValue>>(
        'SELECT * FROM parcels WHERE done = 0 AND next_at <= ? ORDER BY next_at LIMIT ?',
        now,
        2 * SLOTS,
      )
      .toArray()
      .filter((r) => !this.busy.has(key(r)))
      .slice(0, free);
    const leaseMs = this.config.CALLBACK_TIMEOUT_MS + 5_000;
    for (const r of due) {
      this.busy.add(key(r));
      this.sql.exec(
        'UPDATE parcels SET next_at = ? WHERE job_id = ? AND event = ?',
        now + leaseMs,
        r.job_id,
        r.event,
      );
      void this.attempt(r as Row)
        .catch((e: unknown) =>
          log({
            event: 'callback_attempt_error',
            job_id: r.job_id,
            error: String(e).slice(0, 300),
          }),
        )
        .then(() => {
          this.busy.delete(key(r));
          this.pump();
          return this.arm();
        })
        // Whatever this could not do, the alarm set before the attempt does.
        .catch(() => undefined);
    }
  }

  private async attempt(d: Row): Promise<void> {
    const config = this.config;
    const secrets = [config.CALLBACK_SIGNING_KEY, config.CALLBACK_SIGNING_KEY_NEXT].filter(
      (k): k is string => !!k,
    );
    const id = await callbackWebhookId(d.job_id, d.event, d.body);
    const attempts = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await this.outbound.post(d.url, '', JSON.parse(d.body), {
        timeoutMs: config.CALLBACK_TIMEOUT_MS,
        sign: (body, nowMs) => webhookHeaders(secrets, id, body, nowMs),
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
    let next = d.next_at;
    let done = 1;
    if (error === null) {
      state = { ...base, status: 'delivered', next_attempt_at: null, delivered_at: now };
      log({ event: 'callback_delivered', job_id: d.job_id, attempts, status });
    } else if (attempts >= config.CALLBACK_MAX_ATTEMPTS) {
      state = { ...base, status: 'failed', next_attempt_at: null, delivered_at: null };
      log({ event: 'callback_failed', job_id: d.job_id, attempts, error });
    } else {
      done = 0;
      next = now + retryDelayMs(attempts, { baseSec: 1, maxSec: 600 });
      state = { ...base, status: 'pending', next_attempt_at: next, delivered_at: null };
      log({
        event: 'callback_retry_scheduled',
        job_id: d.job_id,
        attempts,
        error,
        next_attempt_at: next,
      });
    }
    this.sql.exec(
      'UPDATE parcels SET attempts = ?, next_at = ?, done = ?, state = ? WHERE job_id = ? AND event = ?',
      attempts,
      next,
      done,
      JSON.stringify(state),
      d.job_id,
      d.event,
    );
    await this.project(d.job_id, d.event);
  }

  /** Writes a row's owed state to D1; a finished delivery is forgotten once D1 has it. */
  private async project(jobId: string, event: string): Promise<void> {
    const row = this.sql
      .exec<{ state: string | null; done: number }>(
        'SELECT state, done FROM parcels WHERE job_id = ? AND event = ?',
        jobId,
        event,
      )
      .toArray()[0];
    if (!row?.state) return;
    try {
      await this.writer.write([
        updateJob(dbOf(this.env.DB), jobId, { callbackState: row.state, updatedAt: Date.now() }),
      ]);
    } catch (e) {
      log({ event: 'callback_state_deferred', job_id: jobId, error: String(e).slice(0, 300) });
      return;
    }
    // Only what was written is cleared: a newer state stored meanwhile stays owed.
    if (row.done)
      this.sql.exec(
        'DELETE FROM parcels WHERE job_id = ? AND event = ? AND done = 1',
        jobId,
        event,
      );
    else
      this.sql.exec(
        'UPDATE parcels SET state = NULL WHERE job_id = ? AND event = ? AND state = ?',
        jobId,
        event,
        row.state,
      );
  }

  /** D1 writes that failed earlier, for rows nothing else is working on. */
  private projectOwed(): void {
    const owed = this.sql
      .exec<{ job_id: string; event: string }>(
        'SELECT job_id, event FROM parcels WHERE state IS NOT NULL LIMIT 100',
      )
      .toArray();
    for (const r of owed) {
      const k = key(r);
      if (this.busy.has(k) || this.busy.has(`d1:${k}`)) continue;
      this.busy.add(`d1:${k}`);
      void this.project(r.job_id, r.event)
        .catch(() => undefined) // still owed: the next alarm tries again
        .finally(() => this.busy.delete(`d1:${k}`));
    }
  }

  private async arm(): Promise<void> {
    const now = Date.now();
    const row = this.sql
      .exec<{ next: number | null; owed: number }>(
        'SELECT min(CASE WHEN done = 0 THEN next_at END) AS next, count(state) AS owed FROM parcels',
      )
      .one();
    let at = row.next ?? Infinity;
    if (row.owed > 0) at = Math.min(at, now + PROJECT_RETRY_MS);
    if (!Number.isFinite(at)) return;
    // Never in the past: a row whose attempt is still under way would otherwise spin the alarm.
    await this.ctx.storage.setAlarm(Math.max(at, now + 250));
  }
}

const key = (r: { job_id: string; event: string }) => `${r.job_id}#${r.event}`;
