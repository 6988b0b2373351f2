/**
 * What one queue's object spends, counted where it is spent: statements on its own SQLite (reads and
 * writes apart, since Cloudflare bills them apart), statements sent to D1, and HTTP requests sent to
 * nodes. /metrics exposes them, and bench/costs divides them by the jobs run to publish a cost per
 * job that comes from the code rather than from a reading of it.
 */
import { meterD1 } from '../src/db/metered-d1';
import { COST_COUNTERS, type CostCounter } from '../src/protocol/telemetry';

// A statement is a write when it starts with one of these (after comments and WITH are ruled out by
// how this codebase writes SQL: one statement per exec, keyword first). DDL counts as a write.
const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

export class Meter {
  private readonly counts: Record<CostCounter, number> = Object.fromEntries(
    COST_COUNTERS.map((c) => [c, 0]),
  ) as Record<CostCounter, number>;
  // Each distinct statement text is classified once: the object runs the same few dozen.
  private readonly kinds = new Map<string, CostCounter>();

  add(counter: CostCounter, n = 1): void {
    this.counts[counter] += n;
  }

  snapshot(): Record<CostCounter, number> {
    return { ...this.counts };
  }

  /** The object's SQLite with every `exec` counted as a read or a write. */
  sql(sql: SqlStorage): SqlStorage {
    const exec = (query: string, ...bindings: unknown[]) => {
      this.add(this.kindOf(query));
      return sql.exec(query, ...bindings);
    };
    return new Proxy(sql, {
      get(target, prop) {
        if (prop === 'exec') return exec;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** D1 with every executed statement counted. */
  d1(db: D1Database): D1Database {
    return meterD1(db, (n) => this.add('d1_statements', n));
  }

  private kindOf(query: string): CostCounter {
    let kind = this.kinds.get(query);
    if (!kind) {
      kind = WRITE.test(query) ? 'storage_writes' : 'storage_reads';
      if (this.kinds.size < 1000) this.kinds.set(query, kind);
    }
    return kind;
  }
}
