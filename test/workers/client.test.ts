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
});
