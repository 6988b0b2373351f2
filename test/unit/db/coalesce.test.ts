import { and, eq, isNull } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it } from 'vitest';
import { coalesce, patchOf, type Compiled } from '../../../src/db/coalesce';
import type { Db } from '../../../src/db/client';
import { recordAttempt } from '../../../src/db/job-attempts';
import * as schema from '../../../src/db/schema';
import { jobRow } from './job-row';
import {
  appendLogs,
  deleteJobs,
  insertJobs,
  updateJob,
  upsertQueue,
  type JobPatch,
  type Stmt,
} from '../../../src/db/write-jobs';

// The real statement builders, compiled by drizzle as the outbox compiles them: the coalescer reads
// their SQL, so a change in how drizzle writes them must fail here. No database is needed to compile.
const db = drizzle({} as D1Database, { schema }) as unknown as Db;
const compile = (s: Stmt): Compiled => (s as unknown as { toSQL(): Compiled }).toSQL();
const patch = (id: string, p: JobPatch) => compile(updateJob(db, id, p));
const attempt = (jobId: string) =>
  compile(
    recordAttempt(db, {
      jobId,
      attempt: 1,
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

/** The final (status, version, other columns) of each update in the output, by job. */
const patches = (out: Compiled[]) =>
  out.map((s) => patchOf(s)).map((p) => (p ? [p.id, Object.fromEntries(p.set)] : null));

describe('coalesce', () => {
  it('merges one job’s transitions into one update: later fields win, highest version kept', () => {
    const out = coalesce([
      patch('a', { status: 'running', workerId: 'w1', startedAt: 10, updatedAt: 10, version: 5 }),
      patch('a', { status: 'queued', error: 'lost', updatedAt: 20, version: 6 }),
      patch('a', { status: 'cancelled', finishedAt: 30, updatedAt: 30, version: 7 }),
    ]);
    expect(out).toHaveLength(1);
    expect(patches(out)).toEqual([
      [
        'a',
        {
          status: 'cancelled',
          updated_at: 30,
          started_at: 10,
          finished_at: 30,
          worker_id: 'w1',
          error: 'lost',
          version: 7,
        },
      ],
    ]);
    expect(out[0].params.length).toBeLessThanOrEqual(100);
  });

  it('drops an update not newer than one merged before it, as D1’s version guard would', () => {
    const out = coalesce([
      patch('a', { status: 'running', updatedAt: 1, version: 9 }),
      patch('a', { status: 'queued', error: 'late', updatedAt: 2, version: 8 }),
    ]);
    expect(patches(out)).toEqual([['a', { status: 'running', updated_at: 1, version: 9 }]]);
  });

  it('leaves a lone update, and updates of different jobs, as they were', () => {
    const input = [
      patch('a', { status: 'running', updatedAt: 1, version: 1 }),
      patch('b', { status: 'running', updatedAt: 1, version: 2 }),
    ];
    expect(coalesce(input)).toEqual(input);
  });

  it('merges across statements about other jobs, at the place of the last update', () => {
    const other = compile(deleteJobs(db, ['b']));
    const out = coalesce([
      patch('a', { status: 'running', updatedAt: 1, version: 1 }),
      other,
      patch('a', { status: 'queued', updatedAt: 2, version: 2 }),
    ]);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual(other);
    expect(patches(out)[1]).toEqual(['a', { status: 'queued', updated_at: 2, version: 2 }]);
  });

  it('merges a job’s life past its attempt row and log lines, which stay before its final state', () => {
    const ended = attempt('a');
    const logs = appendLogs(db, 'a', 1, 5, ['line']).map(compile);
    const out = coalesce([
      patch('a', { status: 'running', workerId: 'w', updatedAt: 1, version: 1 }),
      ...logs,
      ended,
      patch('a', { status: 'succeeded', finishedAt: 2, updatedAt: 2, version: 2 }),
    ]);
    expect(out.slice(0, 2)).toEqual([...logs, ended]);
    expect(patches(out)[2]).toEqual([
      'a',
      { status: 'succeeded', updated_at: 2, finished_at: 2, worker_id: 'w', version: 2 },
    ]);
  });

  it('never moves an update past a statement that touches the same job’s row, and does past one of another', () => {
    const about = (id: string): Compiled[] => [
      compile(deleteJobs(db, ['x', id])),
      ...insertJobs(db, [jobRow(id)]).map(compile),
      // Unversioned: progress is not a transition, and is kept in its place.
      patch(id, { progress: '{}', updatedAt: 3 }),
      // The callback's guarded update (durable-objects/callbacks.ts).
      compile(
        db
          .update(schema.jobs)
          .set({ callbackState: '{}', updatedAt: 3 })
          .where(and(eq(schema.jobs.id, id), isNull(schema.jobs.callbackState))),
      ),
    ];
    const around = (between: Compiled) => [
      patch('a', { status: 'running', updatedAt: 1, version: 1 }),
      between,
      patch('a', { status: 'queued', updatedAt: 2, version: 2 }),
    ];
    for (const between of about('a'))
      expect(coalesce(around(between)), between.sql).toEqual(around(between));
    // The same shapes about job b are recognised as such (not as unknown), so a's updates merge.
    for (const between of about('b'))
      expect(coalesce(around(between)), between.sql).toHaveLength(2);
  });

  it('treats a statement of unknown shape as about every job', () => {
    const input = [
      patch('a', { status: 'running', updatedAt: 1, version: 1 }),
      { sql: 'update "jobs" set "status" = ? where "queue" = ?', params: ['cancelled', 'q'] },
      patch('a', { status: 'queued', updatedAt: 2, version: 2 }),
    ];
    expect(coalesce(input)).toEqual(input);
  });

  it('lets a statement about nothing the group holds pass: the queue upsert', () => {
    const out = coalesce([
      patch('a', { status: 'running', updatedAt: 1, version: 1 }),
      compile(upsertQueue(db, 'q', 1)),
      patch('a', { status: 'queued', updatedAt: 2, version: 2 }),
    ]);
    expect(out).toHaveLength(2);
  });

  it('starts a new group after the insert: insert first, then one update', () => {
    const insert = insertJobs(db, [jobRow('a')]).map(compile);
    const out = coalesce([
      ...insert,
      patch('a', { status: 'running', updatedAt: 1, version: 2 }),
      patch('a', { status: 'succeeded', updatedAt: 2, version: 3 }),
    ]);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual(insert[0]);
    expect(patches(out)[1]).toEqual(['a', { status: 'succeeded', updated_at: 2, version: 3 }]);
  });

  it('reads only versioned updates keyed by one id as transitions', () => {
    expect(patchOf(patch('a', { progress: '{}', updatedAt: 1 }))).toBeNull();
    expect(patchOf(attempt('a'))).toBeNull();
    expect(patchOf(patch('a', { status: 'queued', updatedAt: 1, version: 4 }))?.id).toBe('a');
  });
});
