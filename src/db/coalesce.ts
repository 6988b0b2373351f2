/**
 * Coalescing of the D1 projection's statements, applied by the Scheduler object's outbox to one
 * flush batch at a time (durable-objects/outbox.ts). Pure: compiled SQL in, compiled SQL out.
 *
 * Several versioned updates of one job's row in the batch (`updateJob` with a `version`, the only
 * shape of a job transition) become one update: the union of their columns, the later patch's value
 * winning, and the highest version, so D1's forward-only version guard (migrations/0009) still
 * refuses it when D1 already has a newer write. An update not newer than the group is dropped, as
 * the guard would refuse it after the group's.
 *
 * Why merge within one batch and not store patches keyed by job: a batch is one D1 transaction, so
 * nothing reads D1 between its statements and only the batch's end state matters; and the outbox
 * log stays what it was (statements in order), so a replay, a set-aside statement and every older
 * row of the log keep their meaning.
 *
 * Order: the merged update is written at the place of the group's last update, so the job's final
 * state lands where it did, after everything that preceded it; the earlier updates, which it
 * supersedes, move later. A group is closed (the next update starts a new one) by any statement
 * that touches the job's row (src/db/footprint.ts): its insert, its delete (whose triggers also drop
 * its attempts and logs), an unversioned or guarded update of it, and a statement of an unknown
 * shape closes every group. Inserts of attempt rows, log lines and the queue's row do not close it:
 * no trigger links those tables to `jobs`, so they commute with the job's update (they keep their
 * place among themselves and before the final state, as `attemptEnded` writes them). Were they
 * barriers, a job's life (insert, running, attempt row, succeeded) would never coalesce.
 *
 * Equivalence with writing the updates one by one, given D1's version V of the row: when V is older
 * than every update, both apply them all in order; when V is newer than every update, both apply
 * none. In between, D1 already took the older ones (only this object versions the row, in log
 * order; a batch that D1 took but whose answer was lost is written again): one by one, those are
 * refused and the rest applied; merged, their values are set again, to what D1 already holds,
 * because the only other writer of a job row (the courier's `callback_state`) writes no column a
 * transition sets. test/workers/coalesce-d1.test.ts checks this against D1 on seeded batches.
 */

import { footprint, type Compiled } from './footprint';
import { mergeInserts } from './multi-row';

export type { Compiled } from './footprint';

interface Group {
  id: string;
  first: Compiled;
  set: Map<string, unknown>;
  count: number;
}

// What drizzle compiles `updateJob` to: every value a bound parameter, the job's id last.
const PATCH = /^update "jobs" set ("[a-z_]+" = \?(?:, "[a-z_]+" = \?)*) where "jobs"\."id" = \?$/;

/**
 * One flush batch as D1 should get it: each job's versioned updates merged into one, then inserts
 * into the same table merged into multi-row statements (src/db/multi-row.ts). Two passes, each
 * equivalent to its input, so the two together are too.
 */
export function coalesce(batch: Compiled[]): Compiled[] {
  return mergeInserts(mergeUpdates(batch));
}

/** The batch with each job's versioned updates merged into one statement, at the last one's place. */
export function mergeUpdates(batch: Compiled[]): Compiled[] {
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
    // What touches a job's row closes its group: the next update of the job starts a new one.
    const touched = footprint(stmt);
    if (touched === 'all') open.clear();
    else for (const id of open.keys()) if (touched.has(`jobs:${id}`)) open.delete(id);
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
  // One by one, D1's guard would refuse an update not newer than one the group already applied.
  if ((later.get('version') as number) <= (group.set.get('version') as number)) return;
  for (const [column, value] of later) group.set.set(column, value);
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
