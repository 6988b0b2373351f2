/**
 * The outbox's coalescing (src/db/coalesce.ts, src/db/multi-row.ts) judged by real D1: seeded random
 * batches of the projection's statements, written once as they were logged and once coalesced,
 * must leave the same rows in jobs, job_attempts and job_logs (the version guard and the delete
 * triggers included), also when D1 already took part of the batch (an answer lost, the batch
 * written again).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { dbOf } from '../../src/db/client';
import { coalesce } from '../../src/db/coalesce';
import type { Compiled } from '../../src/db/footprint';
import { recordAttempt } from '../../src/db/job-attempts';
import type { AttemptEndReason } from '../../src/protocol/attempt';
import type { JobStatus } from '../../src/protocol/job';
import {
  appendLogs,
  deleteJobs,
  insertJobs,
  updateJob,
  upsertQueue,
  type Stmt,
} from '../../src/db/write-jobs';
import { jobRow } from '../unit/db/job-row';

const SEED = 1405;
const RUNS = 30;
const STATEMENTS = 60;

// mulberry32: small, seeded, good enough to pick statements.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const db = dbOf(env.DB);
const compile = (s: Stmt): Compiled => (s as unknown as { toSQL(): Compiled }).toSQL();
const STATUSES: JobStatus[] = ['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'];
const REASONS: AttemptEndReason[] = ['failed', 'lease_lost', 'node_gone', 'succeeded'];

/** One batch as the object might log it, for jobs named `${prefix}-0` .. `${prefix}-5`. */
function batchOf(seed: number, prefix: string): Compiled[] {
  const rnd = random(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const job = () => `${prefix}-${Math.floor(rnd() * 6)}`;
  let version = 10;
  const out: Stmt[] = [];
  for (let i = 0; i < STATEMENTS; i++) {
    const r = rnd();
    const id = job();
    if (r < 0.15)
      out.push(
        ...insertJobs(db, [jobRow(id, prefix), ...(rnd() < 0.3 ? [jobRow(job(), prefix)] : [])]),
      );
    else if (r < 0.55)
      out.push(
        updateJob(db, id, {
          status: pick(STATUSES),
          updatedAt: i,
          ...(rnd() < 0.5 ? { workerId: pick(['w1', 'w2', null]) } : {}),
          ...(rnd() < 0.3 ? { error: pick(['boom', null]) } : {}),
          ...(rnd() < 0.3 ? { attempts: Math.floor(rnd() * 4) } : {}),
          // Mostly forward, as the object's clock; sometimes behind, as a replay may be.
          version: rnd() < 0.9 ? ++version : version - 3,
        }),
      );
    else if (r < 0.7)
      out.push(
        recordAttempt(db, {
          jobId: id,
          attempt: 1 + Math.floor(rnd() * 3),
          workerId: pick(['w1', 'w2']),
          executor: null,
          startedAt: i,
          finishedAt: i + 1,
          exitCode: null,
          error: pick(['a', 'b']),
          timedOut: false,
          reason: pick(REASONS),
        }),
      );
    else if (r < 0.8)
      out.push(...appendLogs(db, id, 1, i, [`l${i}`, ...(rnd() < 0.3 ? [`m${i}`] : [])]));
    else if (r < 0.87) out.push(updateJob(db, id, { progress: `{"at":${i}}`, updatedAt: i }));
    else if (r < 0.93) out.push(deleteJobs(db, rnd() < 0.5 ? [id] : [id, job()]));
    else out.push(upsertQueue(db, prefix, i));
  }
  return out.map(compile);
}

async function write(stmts: Compiled[]): Promise<void> {
  await env.DB.batch(stmts.map((s) => env.DB.prepare(s.sql).bind(...s.params)));
}

/** What D1 holds for the jobs of `prefix`, with the prefix taken out so two runs compare. */
async function state(prefix: string) {
  const strip = (rows: Record<string, unknown>[]) =>
    rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          typeof v === 'string' ? v.replaceAll(prefix, '') : v,
        ]),
      ),
    );
  const all = async (sql: string) =>
    strip((await env.DB.prepare(sql).bind(`${prefix}-%`).all()).results);
  return {
    jobs: await all('SELECT * FROM jobs WHERE id LIKE ? ORDER BY id'),
    attempts: await all('SELECT * FROM job_attempts WHERE job_id LIKE ? ORDER BY job_id, attempt'),
    logs: await all(
      'SELECT job_id, attempt, ts, line FROM job_logs WHERE job_id LIKE ? ORDER BY id',
    ),
    queue: strip(
      (await env.DB.prepare('SELECT * FROM queues WHERE name = ?').bind(prefix).all()).results,
    ),
  };
}

describe('coalescing against real D1', () => {
  it(`leaves D1 as the statements one by one would, over ${RUNS} seeded batches`, async () => {
    let merged = 0;
    let logged = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = SEED * 1000 + run;
      const plain = `cp${seed}`;
      const packed = `cc${seed}`;
      const one = batchOf(seed, plain);
      const two = batchOf(seed, packed);
      // A previous batch D1 took before its answer was lost: the first part, as it was then.
      const taken = Math.floor(random(seed + 7)() * STATEMENTS);
      await write(one.slice(0, taken));
      await write(coalesce(two.slice(0, taken)));
      await write(one);
      const out = coalesce(two);
      await write(out);
      logged += two.length;
      merged += out.length;
      expect(await state(packed), `seed ${seed}`).toEqual(await state(plain));
      expect(Math.max(...out.map((s) => s.params.length))).toBeLessThanOrEqual(100);
    }
    // The batches did coalesce: fewer statements than were logged.
    expect(merged).toBeLessThan(logged * 0.8);
  });
});
