import type { Db } from '../src/db/client';
import type { Stmt } from '../src/db/write-jobs';
import { log } from '../src/log';

const MAX_STATEMENTS_PER_BATCH = 200;
const ATTEMPTS = 3;

interface Group {
  stmts: Stmt[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for D1. Every state change the scheduler makes is one or more statements; callers
 * that arrive while a batch is in flight are committed together in the next `db.batch()` (one round
 * trip, one transaction). At low load a write goes out at once; under load the batch grows, which is
 * what keeps D1 (about 1,000 queries/s, single-threaded) off the per-job path.
 */
export class D1Writer {
  private waiting: Group[] = [];
  private running = false;

  constructor(private readonly db: Db) {}

  write(stmts: Stmt[]): Promise<void> {
    if (stmts.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ stmts, resolve, reject });
      if (!this.running) {
        this.running = true;
        void this.drain();
      }
    });
  }

  /** Resolves once everything written so far is committed (or has failed). */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 1));
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const groups: Group[] = [];
        let count = 0;
        while (
          this.waiting.length > 0 &&
          (groups.length === 0 || count + this.waiting[0].stmts.length <= MAX_STATEMENTS_PER_BATCH)
        ) {
          const g = this.waiting.shift()!;
          groups.push(g);
          count += g.stmts.length;
        }
        const stmts = groups.flatMap((g) => g.stmts);
        try {
          await this.commit(stmts);
          for (const g of groups) g.resolve();
        } catch (e) {
          log({
            event: 'd1_write_failed',
            statements: stmts.length,
            groups: groups.length,
            error: String(e),
          });
          if (groups.length === 1) groups[0].reject(e);
          // One caller's bad statement must not fail the others that shared its batch: retry each alone.
          else for (const g of groups) await this.commit(g.stmts).then(g.resolve, g.reject);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async commit(stmts: Stmt[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.batch(stmts as [Stmt, ...Stmt[]]);
        return;
      } catch (e) {
        // A constraint error will not go away by retrying; a transient one (busy, network) may.
        if (attempt >= ATTEMPTS || /constraint/i.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }
}
