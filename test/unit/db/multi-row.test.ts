import { and, eq, isNull } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/db/client';
import { coalesce } from '../../../src/db/coalesce';
import type { Compiled } from '../../../src/db/footprint';
import { recordAttempt } from '../../../src/db/job-attempts';
import { footprint, insertOf } from '../../../src/db/footprint';
import { mergeInserts, MAX_BOUND_PARAMETERS } from '../../../src/db/multi-row';
import * as schema from '../../../src/db/schema';
import {
  appendLogs,
  deleteJobs,
  insertJobs,
  updateJob,
  upsertQueue,
  type Stmt,
} from '../../../src/db/write-jobs';
import { jobRow } from './job-row';

// Compiled by drizzle from the real builders, as the outbox compiles them (see coalesce.test.ts).
const db = drizzle({} as D1Database, { schema }) as unknown as Db;
const compile = (s: Stmt): Compiled => (s as unknown as { toSQL(): Compiled }).toSQL();
const attempt = (jobId: string, n = 1) =>
  compile(
    recordAttempt(db, {
      jobId,
      attempt: n,
      workerId: 'w',
      executor: null,
      startedAt: 1,
      finishedAt: 2,
      exitCode: 1,
      error: 'boom',
      timedOut: false,
      reason: 'failed',
    }),
  );
const patch = (id: string, version: number) =>
  compile(updateJob(db, id, { status: 'running', updatedAt: version, version }));
const rowsOf = (s: Compiled) => insertOf(s)?.tuples.length ?? 0;

describe('mergeInserts', () => {
  it('merges attempt rows separated by other jobs’ updates into one statement at the first one’s place', () => {
    const out = mergeInserts([
      patch('a', 1),
      attempt('a'),
      patch('b', 2),
      attempt('b'),
      attempt('c'),
    ]);
    expect(out.map(rowsOf)).toEqual([0, 3, 0]);
    expect(out[1].params).toEqual([
      ...attempt('a').params,
      ...attempt('b').params,
      ...attempt('c').params,
    ]);
    expect(out[2]).toEqual(patch('b', 2));
  });

  it('stays within 100 bound parameters: 11 attempt rows of 10 are two statements', () => {
    const out = mergeInserts(Array.from({ length: 11 }, (_, i) => attempt(`j${i}`)));
    expect(out.map(rowsOf)).toEqual([10, 1]);
    expect(Math.max(...out.map((s) => s.params.length))).toBe(MAX_BOUND_PARAMETERS);
  });

  it('fills job inserts of separate submissions up to 2 rows (68 parameters: 34 columns a job)', () => {
    const out = mergeInserts(
      ['a', 'b', 'c', 'd', 'e'].flatMap((id) => insertJobs(db, [jobRow(id)]).map(compile)),
    );
    expect(out.map(rowsOf)).toEqual([2, 2, 1]);
    expect(out[0].params).toHaveLength(68);
  });

  it('merges log lines with drizzle’s literal nulls, and keeps their order', () => {
    const out = mergeInserts([
      ...appendLogs(db, 'a', 1, 1, ['one', 'two']).map(compile),
      ...appendLogs(db, 'b', 1, 1, ['three']).map(compile),
    ]);
    expect(out).toHaveLength(1);
    expect(out[0].sql).toMatch(/values \(null, \?, \?, \?, \?\), \(null, /);
    expect(out[0].params.filter((p) => typeof p === 'string' && p.length > 1)).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('does not move a job’s insert before a statement that touched its rows', () => {
    // The attempt row of a, after a's delete, must stay after it (the delete drops a's attempts).
    const input = [attempt('x'), compile(deleteJobs(db, ['a'])), attempt('a', 2)];
    expect(mergeInserts(input)).toEqual(input);
    // The same for b joins: the delete did not touch b.
    expect(mergeInserts([attempt('x'), compile(deleteJobs(db, ['a'])), attempt('b')])).toHaveLength(
      2,
    );
    // An update of a job's row keeps the job's later insert behind it (a replayed submission).
    const replay = [
      ...insertJobs(db, [jobRow('x')]).map(compile),
      patch('a', 5),
      ...insertJobs(db, [jobRow('a')]).map(compile),
    ];
    expect(mergeInserts(replay)).toEqual(replay);
  });

  it('leaves alone what it cannot merge: a conflict clause that binds, other columns, an unknown statement between', () => {
    const queue = [compile(upsertQueue(db, 'q', 1)), compile(upsertQueue(db, 'r', 1))];
    expect(mergeInserts(queue)).toEqual(queue);
    const mixed = [attempt('a'), ...appendLogs(db, 'a', 1, 1, ['l']).map(compile)];
    expect(mergeInserts(mixed)).toEqual(mixed);
    const unknown = [
      attempt('a'),
      { sql: 'delete from "job_attempts" where "attempt" > ?', params: [3] },
      attempt('b'),
    ];
    expect(mergeInserts(unknown)).toEqual(unknown);
  });

  it('after the updates are merged: a job’s life in a batch is its insert, one attempt statement and one update', () => {
    const life = (id: string) => [
      ...insertJobs(db, [jobRow(id)]).map(compile),
      patch(id, 2),
      attempt(id),
      compile(updateJob(db, id, { status: 'succeeded', finishedAt: 3, updatedAt: 3, version: 3 })),
    ];
    const out = coalesce([...life('a'), ...life('b'), ...life('c')]);
    // An insert of a and b (34 columns a job: 2 rows a statement), one statement of the 3 attempt
    // rows, a's and b's one update each, then c's insert (its own statement) and c's update.
    expect(out.map(rowsOf)).toEqual([2, 3, 0, 0, 1, 0]);
    expect([2, 3, 5].map((i) => out[i].params.at(-1))).toEqual(['a', 'b', 'c']);
  });
});

describe('footprint', () => {
  it('names the rows each statement of the projection touches, and nothing else', () => {
    const keys = (s: Compiled) => {
      const f = footprint(s);
      return f === 'all' ? f : [...f].sort();
    };
    expect(keys(patch('a', 1))).toEqual(['jobs:a']);
    expect(keys(compile(updateJob(db, 'a', { progress: '{"p":1}', updatedAt: 1 })))).toEqual([
      'jobs:a',
    ]);
    expect(keys(compile(deleteJobs(db, ['a', 'b'])))).toEqual([
      'job_attempts:a',
      'job_attempts:b',
      'job_logs:a',
      'job_logs:b',
      'jobs:a',
      'jobs:b',
    ]);
    expect(keys(insertJobs(db, [jobRow('a'), jobRow('b')]).map(compile)[0])).toEqual([
      'jobs:a',
      'jobs:b',
    ]);
    expect(keys(attempt('a'))).toEqual(['job_attempts:a']);
    expect(keys(appendLogs(db, 'a', 1, 1, ['x', 'y']).map(compile)[0])).toEqual(['job_logs:a']);
    expect(keys(compile(upsertQueue(db, 'q', 1)))).toEqual(['queues:q']);
    expect(
      keys(
        compile(
          db
            .update(schema.jobs)
            .set({ callbackState: '{}', updatedAt: 1 })
            .where(and(eq(schema.jobs.id, 'a'), isNull(schema.jobs.callbackState))),
        ),
      ),
    ).toEqual(['jobs:a']);
    expect(
      keys({ sql: 'update "jobs" set "status" = ? where "queue" = ?', params: ['x', 'q'] }),
    ).toBe('all');
    expect(keys({ sql: 'insert into "workers" ("id") values (?)', params: ['w'] })).toBe('all');
  });
});
