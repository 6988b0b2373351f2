import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client';

/** The typed client (Hono's hc over AppType) against the real Worker. */
describe('typed client', () => {
  const api = createClient('http://cloud.test', {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => SELF.fetch(input, init),
  });

  it('calls typed routes and reads typed answers', async () => {
    const metrics = await api.metrics.$get();
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE queue_depth gauge');
    const history = await api.stats.history.$get();
    const h = await history.json();
    expect(h.step).toBe(5);
    expect(h.finished).toHaveLength(120);
  });

  it('starts a bulk action and reads its progress, typed', async () => {
    const queue = `client-bulk-${Date.now()}`;
    const started = await api.jobs.bulk.$post({ json: { action: 'cancel', filter: { queue } } });
    expect(started.status).toBe(200);
    const { bulk } = await started.json();
    expect(bulk).toMatchObject({ action: 'cancel', matched: 0, status: 'completed' });
    const read = await api.jobs.bulk[':id'].$get({ param: { id: bulk.id } });
    expect((await read.json()).bulk.id).toBe(bulk.id);
  });
});
