/**
 * Issue 3, "Done when": a real node refuses unsigned and tampered dispatches with 401, and the API
 * refuses worker calls (register, heartbeat, result) without the worker token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fakeJobId,
  rawPost,
  signedPost,
  startStack,
  type NodeProcess,
  type Stack,
} from './harness';

describe('signatures and tokens', () => {
  let stack: Stack;
  let node: NodeProcess;
  beforeAll(async () => {
    stack = await startStack();
    node = await stack.startNode();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const dispatch = () => ({
    worker_id: node.id,
    jobs: [
      {
        job_id: fakeJobId(),
        attempt: 1,
        token: 'forged-token',
        queue: 'default',
        type: 'echo',
        payload: 'evil',
        timeout_sec: 5,
        executor: null,
      },
    ],
  });

  it('a real node refuses an unsigned dispatch with 401', async () => {
    const r = await rawPost(`${node.url}/run`, JSON.stringify(dispatch()));
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('bad_signature');
  });

  it('a real node refuses a tampered dispatch with 401', async () => {
    const r = await signedPost(`${node.url}/run`, dispatch(), stack.token, {
      tamper: (raw) => raw.replace('"evil"', '"worse"'),
    });
    expect(r.status).toBe(401);
  });

  it('a real node refuses a dispatch signed with another key, or too old, with 401', async () => {
    expect((await signedPost(`${node.url}/run`, dispatch(), 'not-the-worker-token')).status).toBe(
      401,
    );
    expect(
      (
        await signedPost(`${node.url}/run`, dispatch(), stack.token, {
          timestampMs: Date.now() - 10 * 60_000,
        })
      ).status,
    ).toBe(401);
    expect(node.events('job_received')).toEqual([]);
  });

  it('the API refuses worker calls without the token with 401', async () => {
    const reg = await stack.call('POST', '/workers/register', {
      id: 'no-token',
      url: 'http://127.0.0.1:9',
      executors: ['native'],
    });
    expect(reg.status).toBe(401);
    const beat = await stack.call('POST', `/workers/${node.id}/heartbeat`, {
      running: [],
      draining: false,
    });
    expect(beat.status).toBe(401);
    const job = await stack.submit({ type: 'echo', payload: 1 });
    const result = await stack.call('POST', `/jobs/${job.id}/result`, {
      worker_id: node.id,
      attempt: 1,
      token: 'x',
      exit_code: 0,
      stdout: '',
      stderr: '',
      duration_ms: 1,
      executor: 'native',
      timed_out: false,
    });
    expect(result.status).toBe(401);
    const dereg = await stack.call('DELETE', `/workers/${node.id}`);
    expect(dereg.status).toBe(401);
    expect((await stack.workers()).map((w) => w.id)).toContain(node.id);
  });
});
