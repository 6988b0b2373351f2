/**
 * Issue 15, "Done when": node keys with real node processes. A node with its own key, read from a
 * file (WORKER_TOKEN_FILE), registers, runs jobs and keeps its key out of every environment, its
 * jobs' included; a node outside its key's scope, or claiming another node's id, is refused and
 * exits 1 saying why; revoking a running node's key stops its heartbeats, and the job it held is
 * re-queued and completed by another node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeKey } from '../../src/core/node-key';
import { startStack, waitFor, type NodeProcess, type Stack } from './harness';

const ADMIN = { authorization: 'Bearer e2e-admin-token-0123456789' };

describe('node keys', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    stack = await startStack({ vars: { ADMIN_TOKEN: ADMIN.authorization.slice(7) } });
    dir = mkdtempSync(join(tmpdir(), 'cloud-node-keys-'));
  });
  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Issues a key and writes it to a file of its own (mode 600), as an operator would. */
  async function keyFile(
    body: Record<string, unknown>,
  ): Promise<{ id: string; key: string; file: string }> {
    const r = await stack.call('POST', '/admin/node-keys', body, ADMIN);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const file = join(dir, r.body.node_key.id);
    writeFileSync(file, `${r.body.key}\n`, { mode: 0o600 });
    return { id: r.body.node_key.id, key: r.body.key, file };
  }

  /** A node with the key in a file: WORKER_TOKEN is empty (unset) in its environment. */
  const keyedEnv = (file: string, env: Record<string, string> = {}) => ({
    WORKER_TOKEN: '',
    WORKER_TOKEN_FILE: file,
    ...env,
  });

  it('a node with its own key registers, runs jobs, and no job can read the key from an environment', async () => {
    const { key, file } = await keyFile({ node_id: 'keyed-1', queues: ['default', 'keyed'] });
    const node = await stack.startNode({
      id: 'keyed-1',
      env: keyedEnv(file, { WORKER_QUEUES: 'keyed', ALLOW_SHELL: '1', SHELL_ALLOWLIST: 'sh' }),
    });
    expect(node.events('dev_token')).toEqual([]);

    const echo = await stack.submit({ queue: 'keyed', type: 'echo', payload: { hi: 1 } });
    expect(await stack.waitForJob(echo.id, ['succeeded', 'failed'])).toMatchObject({
      status: 'succeeded',
      worker_id: 'keyed-1',
    });

    // The job's own environment, then the node's as the kernel shows it to the node's user.
    const probe = 'env; echo ---; tr "\\0" "\\n" < /proc/$PPID/environ';
    const shell = await stack.submit({
      queue: 'keyed',
      type: 'shell',
      payload: { argv: ['sh', '-c', probe] },
    });
    const done = await stack.waitForJob(shell.id, ['succeeded', 'failed']);
    expect(done.status, JSON.stringify(done.result)).toBe('succeeded');
    const out = JSON.stringify(done.result);
    expect(out).toContain('PATH=');
    expect(out).toContain(`WORKER_TOKEN_FILE=${file}`);
    const { id, secret } = parseNodeKey(key)!;
    expect(out).not.toContain(secret);
    expect(out).not.toContain(`nk_${id}`);
    await node.kill();
  });

  it('a node outside its scope is refused and exits 1 saying why', async () => {
    const { file } = await keyFile({ node_id: 'scoped-1', queues: ['default'] });
    const outside = await stack.startNode({
      id: 'scoped-1',
      waitListed: false,
      env: keyedEnv(file, { WORKER_QUEUES: 'default,billing' }),
    });
    expect(await outside.exited).toBe(1);
    const refused = outside.events('worker_refused');
    expect(refused).toHaveLength(1);
    expect(String(refused[0].error)).toMatch(/403 node_scope_refused: queues\.1: queue billing/);

    const impostor = await stack.startNode({
      id: 'scoped-2',
      waitListed: false,
      env: keyedEnv(file),
    });
    expect(await impostor.exited).toBe(1);
    expect(String(impostor.events('worker_refused')[0]?.error)).toMatch(
      /403 node_id_refused: id: node key \w+ is for node scoped-1, not scoped-2/,
    );
    expect((await stack.workers()).map((w) => w.id)).not.toEqual(
      expect.arrayContaining(['scoped-1']),
    );
  });

  it("revoking a running node's key stops its heartbeats; its job is re-queued and completed by another node", async () => {
    const a = await keyFile({ node_id: 'revoked-a', queues: ['revoke'] });
    const b = await keyFile({ node_id: 'survivor-b', queues: ['revoke'] });
    const nodeA = await stack.startNode({
      id: 'revoked-a',
      env: keyedEnv(a.file, { WORKER_QUEUES: 'revoke' }),
    });
    const job = await stack.submit({ queue: 'revoke', type: 'sleep', payload: { ms: 3_000 } });
    await stack.waitForJob(job.id, (j) => j.status === 'running' && j.worker_id === nodeA.id);
    await nodeA.waitForLog('job_started', (l) => l.job_id === job.id);
    const nodeB: NodeProcess = await stack.startNode({
      id: 'survivor-b',
      env: keyedEnv(b.file, { WORKER_QUEUES: 'revoke' }),
    });

    const revoked = await stack.call('DELETE', `/admin/node-keys/${a.id}`, undefined, ADMIN);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toMatchObject({ deregistered: ['revoked-a'], requeued: 1 });

    // Its next heartbeat is refused with the reason, and it stops: jobs killed, exit 1.
    expect(await nodeA.exited).toBe(1);
    const refused = nodeA.events('worker_credential_refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: 401 });
    expect(String(refused[0].detail)).toMatch(/^401 node_key_revoked/);
    expect(nodeA.events('job_killed').map((l) => l.job_id)).toContain(job.id);

    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done).toMatchObject({ status: 'succeeded', worker_id: nodeB.id });
    const listed = await waitFor('the registry without the revoked node', async () => {
      const ids = (await stack.workers()).map((w) => w.id);
      return ids.includes('revoked-a') ? undefined : ids;
    });
    expect(listed).toContain('survivor-b');
  });
});
