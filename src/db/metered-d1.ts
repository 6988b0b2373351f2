/**
 * D1 with a statement count: what a job costs in D1 is a figure the README publishes and /metrics
 * exposes, so it is counted where statements leave, not estimated. `count(n)` hears each executed
 * statement (a batch counts each of its statements; D1 bills them one by one). A Proxy rather than
 * a subclass: the binding is the platform's object, and drizzle only needs `prepare` and `batch`.
 */
export function meterD1(db: D1Database, count: (n: number) => void): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare')
        return (query: string) => meterStatement(target.prepare(query), count);
      if (prop === 'batch')
        return (stmts: D1PreparedStatement[]) => {
          count(stmts.length);
          // The proxies unwrap to the platform's statements: batch() checks what it is given.
          return target.batch(stmts.map(unwrap));
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const TARGET = Symbol('d1-statement');
const EXECUTE = new Set(['run', 'all', 'first', 'raw']);

function meterStatement(
  stmt: D1PreparedStatement,
  count: (n: number) => void,
): D1PreparedStatement {
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === TARGET) return target;
      if (prop === 'bind')
        return (...values: unknown[]) => meterStatement(target.bind(...values), count);
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (EXECUTE.has(prop as string))
        return (...args: unknown[]) => {
          count(1);
          return value.apply(target, args);
        };
      return value.bind(target);
    },
  });
}

function unwrap(stmt: D1PreparedStatement): D1PreparedStatement {
  return (stmt as unknown as Record<symbol, D1PreparedStatement>)[TARGET] ?? stmt;
}
