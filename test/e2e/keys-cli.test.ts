/**
 * `npm run keys` against the real API: create a key for a tenant, use it, list it, revoke it.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './node-process';
import { startStack, type Stack } from './harness';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ vars: { ADMIN_TOKEN } });
});
afterAll(async () => stack?.stop());

function keys(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CLOUD_API_URL: stack.api, CLOUD_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm run keys', () => {
  it('creates, lists and revokes a tenant key that scopes the API', async () => {
    const created = keys('create', '--tenant', 'acme', '--name', 'e2e');
    expect(created.code).toBe(0);
    const key = /ck_[a-z2-9]{12}_[A-Za-z0-9_-]{43}/.exec(created.out)?.[0];
    expect(key).toBeDefined();
    const submitted = await stack.call('POST', '/jobs', { payload: 'mine' }, { authorization: `Bearer ${key}` });
    expect(submitted.status).toBe(201);
    expect(submitted.body.job.tenant).toBe('acme');

    const listed = keys('list', '--tenant', 'acme');
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('acme');
    expect(listed.out).not.toContain(key!);

    const id = key!.split('_')[1];
    expect(keys('revoke', id).code).toBe(0);
    expect((await stack.call('GET', '/jobs', undefined, { authorization: `Bearer ${key}` })).status).toBe(401);
  });

  it('exits non-zero with a message on bad usage or a wrong admin token', () => {
    expect(keys('create').code).toBe(2);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'list'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CLOUD_API_URL: stack.api, CLOUD_ADMIN_TOKEN: 'wrong-token-0123456789' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('401');
  });
});
