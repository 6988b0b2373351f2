import { coalesce, type Compiled } from '../src/db/coalesce';
import type { Stmt } from '../src/db/write-jobs';
import { log } from '../src/log';

type Row = {
  id: number;
  statement: string;
  params: string;
};
interface Waiter {
  first: number;
  last: number;
  lost: boolean;
  resolve: (landed: boolean) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** Rows per D1 batch, and the bytes of their parameters: one batch stays one modest round trip. */
const BATCH_ROWS = 200;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Quick retries of a transient failure before the alarm takes over (then every `retryMs`). */
const QUICK_RETRIES = 2;
/** How many set-aside statements are kept for an operator to read. */
const SET_ASIDE_KEPT = 200;
/**
 * Errors no retry can cure: the statement itself is wrong for D1 (a constraint, a value or statement
 * too big, too many bound parameters, bad SQL). Anything else (busy, network, a table briefly gone) is
 * transient and retried until D1 takes it.
 */
const PERMANENT =
  /constraint|too big|toobig|too many sql variables|too long|syntax error|datatype mismatch/i;

export interface OutboxOptions {
  /** The flusher stopped on a transient failure: retry at this time (the scheduler's alarm). */
  stalled(retryAt: number): void;
  retryMs: number;
  /** Chaos only (FAULT_D1_FAIL_RATE): this share of batches fail, half of them after D1 took them. */
  faultRate(): number;
}

/**
 * Every D1 change of the queue, in order: a write-ahead log in the object's own storage. A change is
 * added in the same synchronous turn (so the same storage transaction) as the state change it
 * records, and one flusher writes the log to D1 strictly in order, many rows per batch, deleting what
 * D1 took. So a crash between the two stores leaves the change here for the next incarnation, a
 * retried change never lands after a newer one, and concurrent changes share a round trip (group
 * commit). A statement D1 can never take is set aside with a log line and a count, so it never
 * blocks the changes behind it. Replays are harmless: inserts ignore existing rows, updates set
 * values and carry a version D1 only lets move forward (migrations/0009). Within a batch, a job's
 * several transitions go to D1 as one update and inserts into one table as multi-row statements
 * (src/db/coalesce.ts): the log itself keeps every statement as it was added, so what is merged is
 * only ever one transaction's worth.
 */
export class Outbox {
  private flushing = false;
  private retryAt: number | null = null;
  private waiters: Waiter[] = [];
  private lastVersion = 0;
  /** Statements set aside since this incarnation started (a metric). */
  setAside = 0;
  private injected = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly d1: D1Database,
    private readonly opts: OutboxOptions,
  ) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, statement TEXT NOT NULL, params TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox_set_aside (id INTEGER PRIMARY KEY, statement TEXT NOT NULL, params TEXT NOT NULL, error TEXT NOT NULL, at INTEGER NOT NULL);
    `);
  }

  /**
   * A version for a job's D1 row that only moves forward, across incarnations too: microseconds of
   * the clock, or one more than the last when changes come faster than that.
   */
  version(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Date.now() * 1000);
    return this.lastVersion;
  }

  /** Logs the statements (call inside the state change's turn) and starts the flusher. */
  add(stmts: Stmt[], now = Date.now()): { first: number; last: number } {
    let first = -1;
    let last = -1;
    for (const stmt of stmts) {
      const { sql, params } = (stmt as unknown as { toSQL(): Compiled }).toSQL();
      last = this.sql
        .exec<{
          id: number;
        }>(
          'INSERT INTO outbox (statement, params, created_at) VALUES (?, ?, ?) RETURNING id',
          sql,
          JSON.stringify(params),
          now,
        )
        .one().id;
      if (first === -1) first = last;
    }
    if (first !== -1) queueMicrotask(() => void this.flush());
    return { first, last };
  }

  /**
   * Resolves once D1 has the range: true when every statement landed, false when one was set aside
   * or `timeoutMs` passed first (the range stays in the log either way and lands in order later).
   */
  landed(range: { first: number; last: number }, timeoutMs: number): Promise<boolean> {
    if (range.first === -1 || this.oldest() > range.last) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiter = { ...range, lost: false, resolve };
      this.waiters.push(w);
      w.timer = setTimeout(() => this.settle(w, false), timeoutMs);
    });
  }

  get size(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n;
  }

  /**
   * How far D1 is behind this object: the age of the oldest change not yet in D1 (0 when none) and
   * how many are waiting. Set-aside statements are not counted: they will never land.
   */
  lag(now = Date.now()): { seconds: number; pending: number } {
    const r = this.sql
      .exec<{ n: number; at: number | null }>(
        'SELECT count(*) AS n, min(created_at) AS at FROM outbox',
      )
      .one();
    return { seconds: r.at === null ? 0 : Math.max(0, now - r.at) / 1000, pending: r.n };
  }

  /** When the flusher waits for the alarm after a transient failure, or null. */
  get stalledUntil(): number | null {
    return this.retryAt;
  }

  /**
   * Writes what is pending, in order, until the log is empty or D1 fails transiently. After such a
   * failure it waits for `retryAt` (the alarm), unless `force`d (the cron).
   */
  async flush(now = Date.now(), force = false): Promise<void> {
    if (this.flushing || (!force && this.retryAt !== null && this.retryAt > now)) return;
    this.flushing = true;
    this.retryAt = null;
    try {
      for (let rows = this.pending(); rows.length > 0; rows = this.pending()) {
        if (!(await this.write(rows))) {
          this.retryAt = Date.now() + this.opts.retryMs;
          this.opts.stalled(this.retryAt);
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Writes `rows` (or, when one of them can never land, each alone); false on a transient failure. */
  private async write(rows: Row[]): Promise<boolean> {
    let error: unknown;
    for (let attempt = 0; attempt <= QUICK_RETRIES; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      try {
        await this.batch(rows);
        this.done(rows[rows.length - 1].id);
        return true;
      } catch (e) {
        error = e;
        if (PERMANENT.test(String(e))) break;
      }
    }
    if (!PERMANENT.test(String(error))) {
      log({ event: 'outbox_stalled', pending: rows.length, error: String(error).slice(0, 300) });
      return false;
    }
    if (rows.length === 1) {
      this.putAside(rows[0], String(error));
      return true;
    }
    // One statement spoils the batch: write them one by one, in order, and set that one aside.
    for (const row of rows) if (!(await this.write([row]))) return false;
    return true;
  }

  private async batch(rows: Row[]): Promise<void> {
    const rate = this.opts.faultRate();
    // The first batch always fails, so even a short chaos run proves the fault was survived.
    const fault = rate > 0 && (this.injected === 0 || Math.random() < rate);
    const after = Math.random() < 0.5;
    if (fault) log({ event: 'd1_fault_injected', after_commit: after, rows: rows.length });
    if (fault) this.injected++;
    if (fault && !after) throw new Error('injected transient D1 failure (before)');
    // A job's transitions in the batch as one update, inserts as multi-row ones (src/db/coalesce.ts).
    const stmts = coalesce(
      rows.map((r): Compiled => ({ sql: r.statement, params: JSON.parse(r.params) as unknown[] })),
    );
    await this.d1.batch(stmts.map((s) => this.d1.prepare(s.sql).bind(...s.params)));
    // D1 took it but the answer is lost: the rows stay and are written again.
    if (fault) throw new Error('injected transient D1 failure (after commit)');
  }

  private pending(): Row[] {
    const rows: Row[] = [];
    let bytes = 0;
    for (const r of this.sql.exec<Row>(
      'SELECT id, statement, params FROM outbox ORDER BY id LIMIT ?',
      BATCH_ROWS,
    )) {
      bytes += r.params.length + r.statement.length;
      if (rows.length > 0 && bytes > BATCH_BYTES) break;
      rows.push(r);
    }
    return rows;
  }

  private oldest(): number {
    return (
      this.sql.exec<{ id: number | null }>('SELECT min(id) AS id FROM outbox').one().id ?? Infinity
    );
  }

  private done(through: number): void {
    this.sql.exec('DELETE FROM outbox WHERE id <= ?', through);
    for (const w of [...this.waiters]) if (w.last <= through) this.settle(w, !w.lost);
  }

  private putAside(row: Row, error: string): void {
    this.setAside++;
    log({
      event: 'd1_write_set_aside',
      outbox_id: row.id,
      statement: row.statement.slice(0, 120),
      error: error.slice(0, 300),
    });
    this.sql.exec(
      'INSERT OR REPLACE INTO outbox_set_aside (id, statement, params, error, at) VALUES (?, ?, ?, ?, ?)',
      row.id,
      row.statement,
      row.params.slice(0, 4096),
      error.slice(0, 1000),
      Date.now(),
    );
    this.sql.exec(
      'DELETE FROM outbox_set_aside WHERE id NOT IN (SELECT id FROM outbox_set_aside ORDER BY id DESC LIMIT ?)',
      SET_ASIDE_KEPT,
    );
    for (const w of this.waiters) if (w.first <= row.id && row.id <= w.last) w.lost = true;
    this.done(row.id);
  }

  private settle(w: Waiter, landed: boolean): void {
    const i = this.waiters.indexOf(w);
    if (i === -1) return;
    this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    w.resolve(landed);
  }
}
