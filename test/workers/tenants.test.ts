import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';
import { api } from './helpers';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

async function newKey(tenant: string): Promise<string> {
  const res = await api('POST', '/admin/keys', { tenant, name: `${tenant} ci` }, ADMIN);
  expect(res.status).toBe(201);
  expect(res.body.key).toMatch(/^ck_[a-z2-9]{12}_[A-Za-z0-9_-]{43}$/);
  return res.body.key;
}

describe('tenants and API keys', () => {
  it('keeps every tenant to its own jobs; the admin sees all', async () => {
    const acme = { authorization: `Bearer ${await newKey('acme')}` };
    const beta = { 'x-api-key': await newKey('beta') };
    const queue = `tenants-${Date.now()}`;
    const job = (await api('POST', '/jobs', { payload: 'secret plans', queue }, acme)).body.job;
    expect(job.tenant).toBe('acme');

    const peek = await api('GET', `/jobs/${job.id}`, undefined, beta);
    expect(peek.status).toBe(404);
    expect(JSON.stringify(peek.body)).not.toContain('secret plans');
    expect((await api('POST', `/jobs/${job.id}/cancel`, undefined, beta)).status).toBe(404);
    expect((await api('GET', `/jobs?queue=${queue}`, undefined, beta)).body.total).toBe(0);
    expect((await api('GET', `/jobs/${job.id}`)).status).toBe(404); // anonymous is the default tenant

    expect((await api('GET', `/jobs/${job.id}`, undefined, acme)).body.job.payload).toBe(
      'secret plans',
    );
    expect((await api('GET', `/jobs?queue=${queue}`, undefined, acme)).body.total).toBe(1);
    expect((await api('GET', `/jobs/${job.id}`, undefined, ADMIN)).status).toBe(200);
    expect((await api('GET', `/jobs?queue=${queue}`, undefined, ADMIN)).body.total).toBe(1);
    expect((await api('GET', '/stats', undefined, beta)).body.jobs_by_status.queued).toBe(0);

    // The job is still there for its owner: the refused cancel changed nothing.
    expect((await api('GET', `/jobs/${job.id}`, undefined, acme)).body.job.status).toBe('queued');
  });

  it('refuses a revoked, unknown or malformed key with 401', async () => {
    const key = await newKey('gamma');
    const id = key.split('_')[1];
    expect((await api('GET', '/jobs', undefined, { 'x-api-key': key })).status).toBe(200);
    expect((await api('DELETE', `/admin/keys/${id}`, undefined, ADMIN)).status).toBe(200);
    expect((await api('DELETE', `/admin/keys/${id}`, undefined, ADMIN)).status).toBe(404);
    const revoked = await api('GET', '/jobs', undefined, { 'x-api-key': key });
    expect(revoked.status).toBe(401);
    expect(JSON.stringify(revoked.body)).not.toContain(key);
    expect(
      (
        await api('GET', '/jobs', undefined, {
          'x-api-key': key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'),
        })
      ).status,
    ).toBe(401);
    expect(
      (await api('GET', '/jobs', undefined, { authorization: 'Bearer not-a-key' })).status,
    ).toBe(401);
  });

  it('keeps key management to the admin and never shows a secret again', async () => {
    await newKey('delta');
    expect((await api('POST', '/admin/keys', { tenant: 'x' })).status).toBe(401);
    const asTenant = await api('GET', '/admin/keys', undefined, {
      'x-api-key': await newKey('eps'),
    });
    expect(asTenant.status).toBe(401);
    const list = await api('GET', '/admin/keys?tenant=delta', undefined, ADMIN);
    expect(list.status).toBe(200);
    expect(list.body.api_keys).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toMatch(/ck_[a-z2-9]{12}_/);
    expect(Object.keys(list.body.api_keys[0]).sort()).toEqual([
      'created_at',
      'id',
      'name',
      'revoked_at',
      'tenant',
    ]);
    expect((await api('POST', '/admin/keys', { tenant: 'bad tenant!' }, ADMIN)).status).toBe(400);
  });

  it('refuses anonymous calls unless ALLOW_ANONYMOUS=true; probes stay open', async () => {
    const app = createApp();
    const closed = { ...env, ALLOW_ANONYMOUS: 'false' };
    const call = (path: string) =>
      app.fetch(new Request(`http://cloud.test${path}`), closed, createExecutionContext());
    const res = await call('/jobs');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await call('/health')).status).toBe(200);
    expect((await call('/openapi.json')).status).toBe(200);
  });

  it('lets the admin submit on behalf of a tenant', async () => {
    const res = await api(
      'POST',
      '/jobs',
      { payload: 1, queue: `adm-${Date.now()}` },
      { ...ADMIN, 'x-tenant': 'acme' },
    );
    expect(res.status).toBe(201);
    expect(res.body.job.tenant).toBe('acme');
  });
});
