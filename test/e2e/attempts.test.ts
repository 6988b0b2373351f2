/**
 * Issue 18, "Done when": the history of every attempt.
 * - A job that fails twice and then succeeds lists three attempts, with their exit codes and reasons.
 * - A job whose node was SIGKILLed mid-run lists the lost attempt (node_gone once the node is reaped,
 *   or lease_lost) and then the attempt that succeeded on another node.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobAttempt } from '../../src/protocol/attempt';
import { startStack, type Stack } from './harness';
import { REPO_ROOT } from './node-process';

let stack: Stack;
const dir = mkdtempSync(join(tmpdir(), 'cloud-attempts-'));

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function attempts(id: string): Promise<JobAttempt[]> {
  const r = await stack.call<{ attempts: JobAttempt[] }>('GET', `/jobs/${id}/attempts`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.attempts;
}

describe('attempt history', () => {
  it('a job that fails twice then succeeds lists three attempts with their exit codes', async () => {
    const node = await stack.startNode({
      id: 'shell-node',
      env: { ALLOW_SHELL: '1', SHELL_ALLOWLIST: 'sh', WORKER_QUEUES: 'flaky' },
    });
    // A counter file outlives the attempts: the first two exit 7, the third prints and exits 0.
    const counter = join(dir, 'count');
    const script = `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n > ${counter}; [ $n -ge 3 ] || exit 7; echo '{"tries":'$n'}'`;
    const job = await stack.submit({
      type: 'shell',
      queue: 'flaky',
      payload: { argv: ['sh', '-c', script] },
      max_retries: 3,
    });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3 });

    const list = await attempts(job.id);
    expect(list.map((a) => [a.attempt, a.reason, a.exit_code])).toEqual([
      [1, 'failed', 7],
      [2, 'failed', 7],
      [3, 'succeeded', 0],
    ]);
    for (const a of list) {
      expect(a).toMatchObject({ worker_id: node.id, timed_out: false });
      expect(Date.parse(a.finished_at)).toBeGreaterThanOrEqual(Date.parse(a.started_at!));
    }
    expect(list[0].error).toContain('exit code 7');
    expect(list[2].error).toBeNull();

    // `cloud get` prints the same history under the job's detail.
    const shown = execFileSync(process.execPath, ['bin/cloud.mjs', 'get', job.id], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NO_COLOR: '1',
        CLOUD_API_URL: stack.api,
      },
      encoding: 'utf8',
    });
    expect(shown).toMatch(/attempt history:\n +# +REASON +EXIT +NODE/);
    expect(shown).toMatch(/^ +1 +failed +7 +shell-node /m);
    expect(shown).toMatch(/^ +2 +failed +7 +shell-node /m);
    expect(shown).toMatch(/^ +3 +succeeded +0 +shell-node /m);

    // Another tenant's job and an unknown one are both 404, as GET /jobs/:id is.
    const missing = await stack.call('GET', `/jobs/flaky.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q/attempts`);
    expect(missing.status).toBe(404);
    await node.kill();
  });

  it('a job whose node was SIGKILLed lists the lost attempt with its reason', async () => {
    const victim = await stack.startNode({ id: 'victim', env: { WORKER_QUEUES: 'lost' } });
    const job = await stack.submit({
      type: 'sleep',
      queue: 'lost',
      payload: { ms: 3_000 },
      max_retries: 2,
    });
    await stack.waitForJob(job.id, (j) => j.status === 'running' && j.worker_id === victim.id);
    await victim.waitForLog('job_started', (l) => l.job_id === job.id);
    const survivor = await stack.startNode({ id: 'survivor', env: { WORKER_QUEUES: 'lost' } });
    await victim.kill();

    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', worker_id: survivor.id });
    const list = await attempts(job.id);
    expect(list.length).toBe(done.attempts);
    const lost = list[0];
    expect(lost).toMatchObject({ attempt: 1, worker_id: victim.id, exit_code: null });
    expect(['node_gone', 'lease_lost']).toContain(lost.reason);
    expect(lost.error).toBeTruthy();
    expect(list[list.length - 1]).toMatchObject({
      reason: 'succeeded',
      worker_id: survivor.id,
      exit_code: 0,
    });
  });
});
