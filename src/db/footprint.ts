/**
 * What a compiled D1 statement of the projection touches, so the outbox's coalescing
 * (src/db/coalesce.ts, src/db/multi-row.ts) can tell which statements it may move past which: two
 * statements that touch no common key commute. Pure: read from the SQL drizzle compiles and its
 * bound parameters.
 *
 * A key is a table and a row's job id (or queue name): `jobs:<id>`, `job_attempts:<job id>`,
 * `job_logs:<job id>`, `queues:<name>`. An insert touches the rows it inserts (their key column);
 * a write whose WHERE pins `jobs.id` touches those rows, and a delete of a job also its attempts and
 * log lines (the triggers of migrations/0009 and 0010; no other trigger links these tables). Any
 * other shape, or a key that is not a bound parameter, touches everything.
 */

export interface Compiled {
  sql: string;
  params: unknown[];
}

export type Footprint = Set<string> | 'all';

export interface Insert {
  table: string;
  columns: string[];
  /** `insert into "t" (cols) values `, and the conflict clause: what two mergeable inserts share. */
  head: string;
  tail: string;
  /** Each row's values: `?` (the next bound parameter), `null` or `default`. */
  tuples: string[][];
}

const KEY_COLUMN: Record<string, string> = {
  jobs: 'id',
  job_attempts: 'job_id',
  job_logs: 'job_id',
  queues: 'name',
};
const VALUE = '(?:\\?|null|default)';
const TUPLE = `\\(${VALUE}(?:, ${VALUE})*\\)`;
const INSERT = new RegExp(
  `^(insert into "([a-z_]+)" \\(("[a-z_]+"(?:, "[a-z_]+")*)\\) values )(${TUPLE}(?:, ${TUPLE})*)(.*)$`,
);
// A write whose WHERE pins `jobs.id`: = one id, an AND with one id, or IN a list of ids.
const BY_ID = / where (?:"jobs"\."id" (?:= \?|in \((?:\?, )*\?\))$|\("jobs"\."id" = \? and )/;
const WRITE_JOBS = /^(update "jobs" set |delete from "jobs" )/;

/** An insert of rows given as values; null for any other statement. */
export function insertOf(stmt: Compiled): Insert | null {
  const m = INSERT.exec(stmt.sql);
  if (!m) return null;
  return {
    head: m[1],
    table: m[2],
    columns: m[3].split(', ').map((c) => c.slice(1, -1)),
    tuples: m[4]
      .slice(1, -1)
      .split('), (')
      .map((t) => t.split(', ')),
    tail: m[5],
  };
}

export function footprint(stmt: Compiled): Footprint {
  const insert = insertOf(stmt);
  if (insert) return insertKeys(insert, stmt.params);
  const write = WRITE_JOBS.exec(stmt.sql);
  const where = stmt.sql.indexOf(' where ');
  if (!write || !BY_ID.test(stmt.sql)) return 'all';
  // The WHERE's parameters follow the SET's; `= ?` binds one id, `in (...)` ends the statement.
  const first = stmt.sql.slice(0, where).split('?').length - 1;
  const ids = / in \(/.test(stmt.sql.slice(where))
    ? stmt.params.slice(first)
    : [stmt.params[first]];
  if (!ids.every((id): id is string => typeof id === 'string')) return 'all';
  const tables = write[1].startsWith('delete') ? ['jobs', 'job_attempts', 'job_logs'] : ['jobs'];
  return new Set(ids.flatMap((id) => tables.map((t) => `${t}:${id}`)));
}

/** Whether a statement touching `b` may move past statements that touched `a`. */
export function disjoint(a: Footprint, b: Footprint): boolean {
  if (a === 'all' || b === 'all') return false;
  for (const k of b) if (a.has(k)) return false;
  return true;
}

function insertKeys(insert: Insert, params: unknown[]): Footprint {
  const key = insert.columns.indexOf(KEY_COLUMN[insert.table] ?? '');
  if (key === -1) return 'all';
  const keys = new Set<string>();
  let next = 0;
  for (const values of insert.tuples) {
    if (values[key] !== '?') return 'all';
    const value = params[next + values.slice(0, key).filter((v) => v === '?').length];
    if (typeof value !== 'string') return 'all';
    keys.add(`${insert.table}:${value}`);
    next += values.filter((v) => v === '?').length;
  }
  return keys;
}
