import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it, vi } from 'vitest';

// createApp() runs in plain Node here; the Durable Object classes it pulls in only need a base class to extend.
vi.mock('cloudflare:workers', () => ({ DurableObject: class {} }));
import { createApp } from '../../../src/api/app';

/**
 * In plain Node rather than workerd: the validator compiles JSON Schemas with ajv, which generates
 * code at runtime, and workerd forbids that. The app itself is the same module either way.
 */
const env = { WORKER_TOKEN: 'test-worker-token' };

async function openapiDocument(): Promise<any> {
  const res = await createApp().request('/openapi.json', undefined, env);
  expect(res.status).toBe(200);
  return res.json();
}

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = await openapiDocument();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route the app serves, and serves every route it documents', async () => {
    const doc = await openapiDocument();
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item))
        if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
          documented.add(`${method.toUpperCase()} ${path}`);
    }
    const served = new Set(
      createApp()
        .routes.filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    // The document's own route is the one thing that cannot describe itself from a zod schema.
    served.delete('GET /openapi.json');
    expect([...served].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((r) => !served.has(r)).sort()).toEqual([]);
    for (const must of [
      'GET /metrics',
      'GET /dashboard',
      'GET /docs',
      'GET /stats',
      'GET /stats/history',
      'POST /jobs',
      'POST /jobs/batch',
    ])
      expect(documented).toContain(must);
  });

  it('documents 429 rate_limited on both submission routes', async () => {
    const doc = await openapiDocument();
    expect(doc.paths['/jobs'].post.responses['429']).toBeDefined();
    expect(doc.paths['/jobs/batch'].post.responses['429']).toBeDefined();
  });
});
