import { describe, expect, it } from 'vitest';
import { announce, WEBHOOK_ATTEMPTS } from '../../../durable-objects/scale-webhook';
import { verify } from '../../../src/core/signature';
import type { Recommendation } from '../../../src/core/autoscale';

const rec: Recommendation = {
  action: 'scale_up',
  reason: 'queue depth 12 exceeds QUEUE_THRESHOLD_HIGH (10)',
  current_workers: 1,
  desired_workers: 2,
  queue_depth: 12,
  trend_per_min: 3,
  since: 1_700_000_000_000,
};
const noSleep = async () => undefined;

function recorder(statuses: number[]) {
  const calls: { url: string; headers: Headers; body: string }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: new Headers(init.headers), body: String(init.body) });
    return new Response(null, { status: statuses.shift() ?? 200 });
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

describe('scale webhook', () => {
  it('POSTs the recommendation signed like a dispatch, with SCALE_WEBHOOK_SECRET when set', async () => {
    const { calls, fetchImpl } = recorder([204]);
    const sent = await announce(
      'default',
      rec,
      {
        SCALE_WEBHOOK_URL: 'https://ops.example/scale',
        SCALE_WEBHOOK_SECRET: 'webhook-secret',
        WORKER_TOKEN: 'worker-token-1',
      },
      fetchImpl,
      noSleep,
    );
    expect(sent).toBe(true);
    expect(calls).toHaveLength(1);
    const { url, headers, body } = calls[0];
    expect(url).toBe('https://ops.example/scale');
    expect(JSON.parse(body)).toEqual({ queue: 'default', ...rec });
    const check = (secret: string) =>
      verify(
        [secret],
        headers.get('x-cloud-timestamp'),
        headers.get('x-cloud-signature'),
        body,
        Date.now(),
      );
    expect(await check('webhook-secret')).toEqual({ ok: true });
    expect((await check('worker-token-1')).ok).toBe(false);
  });

  it('signs with WORKER_TOKEN when there is no webhook secret', async () => {
    const { calls, fetchImpl } = recorder([200]);
    await announce(
      'q',
      rec,
      { SCALE_WEBHOOK_URL: 'http://127.0.0.1:1/hook', WORKER_TOKEN: 'worker-token-1' },
      fetchImpl,
      noSleep,
    );
    const { headers, body } = calls[0];
    expect(
      await verify(
        ['worker-token-1'],
        headers.get('x-cloud-timestamp'),
        headers.get('x-cloud-signature'),
        body,
        Date.now(),
      ),
    ).toEqual({ ok: true });
  });

  it('retries a receiver that fails, but not one that refuses the request', async () => {
    const flaky = recorder([503, 500, 200]);
    expect(
      await announce(
        'q',
        rec,
        { SCALE_WEBHOOK_URL: 'https://x.example/', WORKER_TOKEN: 'worker-token-1' },
        flaky.fetchImpl,
        noSleep,
      ),
    ).toBe(true);
    expect(flaky.calls).toHaveLength(3);
    const down = recorder([500, 500, 500, 500]);
    expect(
      await announce(
        'q',
        rec,
        { SCALE_WEBHOOK_URL: 'https://x.example/', WORKER_TOKEN: 'worker-token-1' },
        down.fetchImpl,
        noSleep,
      ),
    ).toBe(false);
    expect(down.calls).toHaveLength(WEBHOOK_ATTEMPTS);
    const refused = recorder([400]);
    expect(
      await announce(
        'q',
        rec,
        { SCALE_WEBHOOK_URL: 'https://x.example/', WORKER_TOKEN: 'worker-token-1' },
        refused.fetchImpl,
        noSleep,
      ),
    ).toBe(false);
    expect(refused.calls).toHaveLength(1);
  });

  it('only logs when no webhook is configured', async () => {
    const { calls, fetchImpl } = recorder([]);
    expect(await announce('q', rec, { WORKER_TOKEN: 'worker-token-1' }, fetchImpl, noSleep)).toBe(
      false,
    );
    expect(calls).toHaveLength(0);
  });
});
