import {
  disjoint,
  footprint,
  insertOf,
  type Compiled,
  type Footprint,
  type Insert,
} from './footprint';

/**
 * Inserts of the projection merged into multi-row statements, within one flush batch of the outbox
 * (src/db/coalesce.ts). Measured on workerd's D1 (the report of issue 14): 600 job rows in one
 * batch take 117 ms as 600 one-row statements and 72 ms as 200 three-row ones, and the statements
 * also count against D1's 1,000 queries per invocation. So the attempt rows, log lines and job rows
 * that separate transitions add one by one go out together.
 *
 * Two inserts merge when they have the same table, columns and conflict clause, and their bound
 * parameters together stay within D1's 100. The merged statement stands at the place of the first;
 * a later insert joins it only if nothing between touched its rows (src/db/footprint.ts), so moving
 * it earlier changes nothing. Rows keep their order inside the statement, which SQLite inserts in
 * order: a conflict resolves as it would one by one. A statement that fails for one row fails the
 * batch either way, and the outbox then writes the log's statements one by one, unmerged.
 */
export const MAX_BOUND_PARAMETERS = 100;

interface Group extends Insert {
  first: Compiled;
  params: unknown[];
  count: number;
  /** What the statements after the group's place touched: a later insert must not cross them. */
  crossed: Set<string>;
}

// A conflict clause that binds parameters (an upsert's SET) would interleave them with the rows'.
const MERGEABLE_TAIL = /^(?: on conflict do nothing)?$/;

export function mergeInserts(batch: Compiled[]): Compiled[] {
  const out: (Compiled | Group)[] = [];
  const open = new Map<string, Group>();
  const cross = (touched: Footprint, except?: Group) => {
    if (touched === 'all') open.clear();
    else for (const g of open.values()) if (g !== except) for (const k of touched) g.crossed.add(k);
  };
  for (const stmt of batch) {
    const found = insertOf(stmt);
    const insert = found && MERGEABLE_TAIL.test(found.tail) ? found : null;
    const touched = footprint(stmt);
    if (!insert) {
      cross(touched);
      out.push(stmt);
      continue;
    }
    const shape = insert.head + insert.tail;
    const group = open.get(shape);
    if (
      group &&
      group.params.length + stmt.params.length <= MAX_BOUND_PARAMETERS &&
      disjoint(group.crossed, touched)
    ) {
      group.tuples.push(...insert.tuples);
      group.params.push(...stmt.params);
      group.count++;
      cross(touched, group);
      continue;
    }
    const fresh: Group = {
      ...insert,
      first: stmt,
      params: [...stmt.params],
      count: 1,
      crossed: new Set(),
    };
    cross(touched);
    open.set(shape, fresh);
    out.push(fresh);
  }
  return out.map((s) => ('crossed' in s ? render(s) : s));
}

function render(g: Group): Compiled {
  if (g.count === 1) return g.first;
  const rows = g.tuples.map((t) => `(${t.join(', ')})`).join(', ');
  return { sql: `${g.head}${rows}${g.tail}`, params: g.params };
}
