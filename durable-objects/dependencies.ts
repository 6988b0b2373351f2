import type { JobStatus } from '../src/protocol/job';

export type Outcome = { tenant: string; status: JobStatus };

/**
 * Job dependencies within one queue, in the Durable Object's storage:
 * - `deps`: for every `waiting` job, the jobs it still waits for;
 * - `outcomes`: how each finished job of the queue ended. The scheduler drops finished jobs from its
 *   own table, and D1 may lag behind it (the outbox), so a job submitted later that depends on a
 *   finished one is resolved from here. Pruned with the queue's retention.
 */
export class Dependencies {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS deps (dep_id TEXT NOT NULL, waiter_seq INTEGER NOT NULL, PRIMARY KEY (dep_id, waiter_seq)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS deps_waiter ON deps (waiter_seq);
      CREATE TABLE IF NOT EXISTS outcomes (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS outcomes_at ON outcomes (at);
    `);
  }

  /** The job `waiterSeq` waits for every one of `depIds` to succeed. */
  wait(waiterSeq: number, depIds: Iterable<string>): void {
    for (const id of depIds)
      this.sql.exec('INSERT OR IGNORE INTO deps (dep_id, waiter_seq) VALUES (?, ?)', id, waiterSeq);
  }

  /** The waiters of a job that just finished; its rows are gone afterwards. */
  release(depId: string): number[] {
    const seqs = this.sql
      .exec<{ waiter_seq: number }>('DELETE FROM deps WHERE dep_id = ? RETURNING waiter_seq', depId)
      .toArray()
      .map((r) => r.waiter_seq);
    return seqs;
  }

  pending(waiterSeq: number): number {
    return this.sql
      .exec<{ n: number }>('SELECT count(*) AS n FROM deps WHERE waiter_seq = ?', waiterSeq)
      .one().n;
  }

  /** A waiter that ended some other way (cancelled) waits for nothing any more. */
  forget(waiterSeq: number): void {
    this.sql.exec('DELETE FROM deps WHERE waiter_seq = ?', waiterSeq);
  }

  record(id: string, tenant: string, status: JobStatus, at: number): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO outcomes (id, tenant, status, at) VALUES (?, ?, ?, ?)',
      id,
      tenant,
      status,
      at,
    );
  }

  /** A finished job runs again (a bulk retry): it has no outcome until it ends anew. */
  unrecord(id: string): void {
    this.sql.exec('DELETE FROM outcomes WHERE id = ?', id);
  }

  outcome(id: string): Outcome | null {
    return (
      this.sql.exec<Outcome>('SELECT tenant, status FROM outcomes WHERE id = ?', id).toArray()[0] ??
      null
    );
  }

  /** Forgets outcomes older than `before`; D1 answers for those (until its own retention prunes them). */
  prune(before: number): number {
    return this.sql.exec('DELETE FROM outcomes WHERE at < ?', before).rowsWritten;
  }
}
