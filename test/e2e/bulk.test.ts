/**
 * Bulk actions end to end: wrangler dev (local D1, the queues' Scheduler objects, a BulkRunner
 * object), one real worker node and the real runner, driven by `cloud bulk` as a child process. A
 * background cancel of scheduled jobs, a retry that runs the same jobs to success on the node, and a
 * replay that runs copies of them.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './node-process';
import { startStack, waitFor, type Stack } from './harness';

const QUEUE = 'bulk-e2e';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ vars: { ALLOW_ANONYMOUS: 'true', RATE_LIMIT_JOBS_PER_MIN: '0' } });
  await stack.startNode({ id: 'bulk-node-1', capacity: 8, env: { WORKER_QUEUES: QUEUE } });
});
afterAll(async () => stack?.stop());

function cloud(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CLOUD_')),
  );
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ['bin/cloud.mjs', ...args],
      {
        cwd: REPO_ROOT,
        env: { ...env, NO_COLOR: '1', CLOUD_API_URL: stack.api },
        timeout: 120_000,
      },
      (err, out, errText) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          out,
          err: errText,
        }),
    ),
  );
}

const count = async (status: string) =>
  (await stack.call('GET', `/jobs?queue=${QUEUE}&status=${status}&limit=1`)).body.total as number;

describe('cloud bulk against the real stack', () => {
  const ids: string[] = [];

  it('cancels 150 scheduled jobs in the background, following the progress to the end', async () => {
    for (let i = 0; i < 150; i += 50) {
      const res = await stack.call('POST', '/jobs/batch', {
        jobs: Array.from({ length: 50 }, (_, k) => ({
          payload: { n: i + k },
          queue: QUEUE,
          delay_sec: 3600,
        })),
      });
      expect(res.status).toBe(201);
      ids.push(...res.body.ids);
    }
    const r = await cloud(['bulk', '--action', 'cancel', '--queue', QUEUE, '--wait']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^bk_\S+ cancel running: \d+\/150 reached/);
    expect(lines.at(-1)).toMatch(
      /cancel completed: 150\/150 reached, 150 done, 0 skipped, 0 failed$/,
    );
    expect(await count('cancelled')).toBe(150);
  });

  it('retries them: the same jobs run on the node and succeed', async () => {
    const r = await cloud([
      'bulk',
      '-a',
      'retry',
      '-q',
      QUEUE,
      '-s',
      'cancelled',
      '--wait',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).bulk).toMatchObject({ status: 'completed', matched: 150, done: 150 });
    await waitFor(
      'the retried jobs to succeed',
      async () => (await count('succeeded')) === 150,
      90_000,
      500,
    );
    for (const id of ids.slice(0, 5))
      expect(await stack.job(id)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        replay_of: null,
      });
  });

  it('replays them: copies linked to the originals run and succeed too', async () => {
    const r = await cloud(['bulk', '-a', 'replay', '-q', QUEUE, '--wait', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).bulk).toMatchObject({ status: 'completed', matched: 150, done: 150 });
    await waitFor(
      'the copies to succeed',
      async () => (await count('succeeded')) === 300,
      90_000,
      500,
    );
    const page = (await stack.call('GET', `/jobs?queue=${QUEUE}&limit=500`)).body.jobs as {
      replay_of: string | null;
    }[];
    const originals = page.flatMap((j) => (j.replay_of ? [j.replay_of] : []));
    expect(originals.sort()).toEqual([...ids].sort());
  });
});
