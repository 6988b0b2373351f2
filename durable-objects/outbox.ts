import type { Stmt } from '../src/db/write-jobs';
import { log } from '../src/log';

type Compiled = { sql: string; params: unknown[] };

/**
 * D1 changes not yet known to be written: a write-ahead log in the Durable Object's own storage.
 * Every change is added here in the same synchronous turn (so the same storage transaction) as the
 * state change it records, and removed once D1 has taken it. What D1 refused, or what a crash cut
 * off between the two stores, is still here: the alarm (and the next start) replays it in order until
 * D1 takes it. Replaying a change D1 already had is harmless: the statements are updates that set
 * values, and a replayed batch lands before anything newer. Until the outbox is flushed, the cron
 * reconcile does not trust D1's view of which jobs are active.
 */
export class Outbox {
  constructor(
    private readonly sql: SqlStorage,
    private readonly d1: D1Database,
  ) {
    sql.exec(
      'CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, statement TEXT NOT NULL, params TEXT NOT NULL, created_at INTEGER NOT NULL)',
    );
  }

  /** Records the statements; returns the range of their ids, for `remove` once D1 took them. */
  add(stmts: Stmt[], now: number): { first: number; last: number } {
    let first = -1;
    let last = -1;
    for (const stmt of stmts) {
      const { sql, params } = (stmt as unknown as { toSQL(): Compiled }).toSQL();
      last = this.sql
        .exec<{ id: number }>(
          'INSERT INTO outbox (statement, params, created_at) VALUES (?, ?, ?) RETURNING id',
          sql,
          JSON.stringify(params),
          now,
        )
        .one().id;
      if (first === -1) first = last;
    }
    return { first, last };
  }

  remove(range: { first: number; last: number }): void {
    this.sql.exec('DELETE FROM outbox WHERE id BETWEEN ? AND ?', range.first, range.last);
  }

  get size(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').toArray()[0].n;
  }

  /** Writes the oldest pending changes to D1 in one batch; true when the outbox is empty afterwards. */
  async flush(limit = 200): Promise<boolean> {
    const rows = this.sql
      .exec<{ id: number; statement: string; params: string }>(
        'SELECT id, statement, params FROM outbox ORDER BY id LIMIT ?',
        limit,
      )
      .toArray();
    if (rows.length === 0) return true;
    try {
      await this.d1.batch(
        rows.map((r) => this.d1.prepare(r.statement).bind(...(JSON.parse(r.params) as unknown[]))),
      );
    } catch (e) {
      log({ event: 'outbox_flush_failed', pending: rows.length, error: String(e).slice(0, 300) });
      return false;
    }
    this.sql.exec('DELETE FROM outbox WHERE id <= ?', rows[rows.length - 1].id);
    log({ event: 'outbox_flushed', statements: rows.length });
    return this.size === 0;
  }
}
