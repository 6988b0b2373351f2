/**
 * Coalescing of the D1 projection's statements, applied by the Scheduler object's outbox to one
 * flush batch at a time (durable-objects/outbox.ts). Pure: compiled SQL in, compiled SQL out.
 *
 * Several versioned updates of one job's row in the batch (`updateJob` with a `version`, the only
 * shape of a job transition) become one update: the union of their columns, the later patch's value
 * winning, and the highest version, so D1's forward-only version guard (migrations/0009) still
 * refuses it when D1 already has a newer write.
 *
 * Why merge within one batch and not store patches keyed by job: a batch is one D1 transaction, so
 * nothing reads D1 between its statements and only the batch's end state matters; and the outbox
 * log stays what it was (statements in order), so a replay, a set-aside statement and every older
 * row of the log keep their meaning.
 *
 * Order: the merged update is written at the place of the group's last update, so the job's final
 * state lands where it did, after everything that preceded it; the earlier updates, which it
 * supersedes, move later. A group is closed (the next update starts a new one) by any statement
 * that touches the job's row: its insert, its delete (whose triggers also drop its attempts and
 * logs), an unversioned or guarded update of it. Each names the job's id as a bound parameter, and
 * a statement of an unknown shape closes every group. Inserts of attempt rows, log lines and the
 * queue's row do not close it: no trigger links those tables to `jobs`, so they touch no job row
 * and commute with its update (they keep their place among themselves and before the final state,
 * as `attemptEnded` writes them). Were they barriers, a job's life (insert, running, attempt row,
 * succeeded) would never coalesce.
 *
 * Equivalence with writing the updates one by one, given D1's version V of the row: when V is older
 * than every update, both apply them all in order; when V is newer than every update, both apply
 * none. In between, D1 already took the older ones (only this object versions the row, in log
 * order; a batch that D1 took but whose answer was lost is written again): one by one, those are
 * refused and the rest applied; merged, their values are set again, to what D1 already holds,
 * because the only other writer of a job row (the courier's `callback_state`) writes no column a
 * transition sets.
 */

export interface Compiled {
  sql: string;
  params: unknown[];
}

interface Group {
  id: string;
  first: Compiled;
  set: Map<string, unknown>;
  count: number;
}

// What drizzle compiles `updateJob` to: every value a bound parameter, the job's id last.
const PATCH = /^update "jobs" set ("[a-z_]+" = \?(?:, "[a-z_]+" = \?)*) where "jobs"\."id" = \?$/;
// Statements about the rows their bound parameters name: an insert into `jobs` (a row's id is
// among its values) and writes whose WHERE pins `jobs.id` (= one id, an AND with one id, IN ids).
const JOB_INSERT = /^insert into "jobs" \(/;
const BY_ID = / where (?:"jobs"\."id" (?:= \?|in \((?:\?, )*\?\))$|\("jobs"\."id" = \? and )/;
// Inserts into tables no trigger links to `jobs`: they touch no job row (migrations/0009, 0010).
const NO_JOB_ROW = /^insert into "(?:job_attempts|job_logs|queues)" \(/;

/** The batch with each job's versioned updates merged into one statement, at the last one's place. */
export function coalesce(batch: Compiled[]): Compiled[] {
  const out: (Compiled | Group | null)[] = [];
  const open = new Map<string, { group: Group; at: number }>();
  for (const stmt of batch) {
    const patch = patchOf(stmt);
    if (patch) {
      const seen = open.get(patch.id);
      if (seen) {
        merge(seen.group, patch.set);
        out[seen.at] = null;
        seen.at = out.push(seen.group) - 1;
      } else {
        const group: Group = { id: patch.id, first: stmt, set: patch.set, count: 1 };
        open.set(patch.id, { group, at: out.push(group) - 1 });
      }
      continue;
    }
    if (JOB_INSERT.test(stmt.sql) || BY_ID.test(stmt.sql)) {
      for (const p of stmt.params) if (typeof p === 'string') open.delete(p);
    } else if (!NO_JOB_ROW.test(stmt.sql)) open.clear();
    out.push(stmt);
  }
  return out.flatMap((s) => (s === null ? [] : 'set' in s ? [render(s)] : [s]));
}

/** A versioned update of one job's row, as column -> value; null for any other statement. */
export function patchOf(stmt: Compiled): { id: string; set: Map<string, unknown> } | null {
  const m = PATCH.exec(stmt.sql);
  if (!m) return null;
  const columns = m[1].split(', ').map((c) => c.slice(1, c.indexOf('"', 1)));
  const id = stmt.params[columns.length];
  if (stmt.params.length !== columns.length + 1 || typeof id !== 'string') return null;
  const set = new Map(columns.map((c, i) => [c, stmt.params[i]]));
  return typeof set.get('version') === 'number' ? { id, set } : null;
}

function merge(group: Group, later: Map<string, unknown>): void {
  const version = Math.max(group.set.get('version') as number, later.get('version') as number);
  for (const [column, value] of later) group.set.set(column, value);
  group.set.set('version', version);
  group.count++;
}

function render(group: Group): Compiled {
  if (group.count === 1) return group.first;
  const columns = [...group.set.keys()];
  return {
    sql: `update "jobs" set ${columns.map((c) => `"${c}" = ?`).join(', ')} where "jobs"."id" = ?`,
    params: [...group.set.values(), group.id],
  };
}
