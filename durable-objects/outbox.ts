import type { Stmt } from '../src/db/write-jobs';
import { log } from '../src/log';

type Compiled = { sql: string; params: unknown[] };

/**
 * D1 changes that could not be written yet. The Durable Object's own storage has already moved the
 * job on, so the change must reach D1 (the system of record) eventually: it waits here, in the same
 * storage, and the alarm retries it in order until D1 takes it. Until the outbox is empty, the cron
 * reconcile does not trust D1's view of which jobs are active.
 */
export class Outbox {
  constructor(private readonly sql: SqlStorage, private readonly d1: D1Database) {
    sql.exec('CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, statement TEXT NOT NULL, params TEXT NOT NULL, created_at INTEGER NOT NULL)');
  }

  add(stmts: Stmt[], now: number): void {
    for (const stmt of stmts) {
      const { sql, params } = (stmt as unknown as { toSQL(): Compiled }).toSQL();
      this.sql.exec('INSERT INTO outbox (statement, params, created_at) VALUES (?, ?, ?)', sql, JSON.stringify(params), now);
    }
  }

  get size(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').toArray()[0].n;
  }

  /** Writes the oldest pending changes to D1 in one batch; true when the outbox is empty afterwards. */
  async flush(limit = 200): Promise<boolean> {
    const rows = this.sql.exec<{ id: number; statement: string; params: string }>('SELECT id, statement, params FROM outbox ORDER BY id LIMIT ?', limit).toArray();
    if (rows.length === 0) return true;
    try {
      await this.d1.batch(rows.map((r) => this.d1.prepare(r.statement).bind(...(JSON.parse(r.params) as unknown[]))));
    } catch (e) {
      log({ event: 'outbox_flush_failed', pending: rows.length, error: String(e).slice(0, 300) });
      return false;
    }
    this.sql.exec('DELETE FROM outbox WHERE id <= ?', rows[rows.length - 1].id);
    log({ event: 'outbox_flushed', statements: rows.length });
    return this.size === 0;
  }
}
