import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { announce, WEBHOOK_ATTEMPTS } from '../../../durable-objects/scale-webhook';
import type { Recommendation } from '../../../src/core/autoscale';
import { parseConfig } from '../../../src/env';

const WEBHOOK_KEY = 'whsec_OTZaqOOB4VuhDZ2bXVWKLsZFGUXd49pXWH33yGkSg4k=';
const CALLBACK_KEY = 'whsec_ntKqkGPaNM29z3F6p52eElPF4L7TyCKXKAVKHVFB4WE=';
const NEXT_KEY = 'whsec_DP4oYKGziZ8GNwUDCsTEx9t4NAd8ZVgCOdtJQMqjFlQ=';

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
  const calls: { url: string; headers: Record<string, string>; body: string }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    // Lower-cased names, as a receiver's framework hands them over.
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    calls.push({ url, headers, body: String(init.body) });
    return new Response(null, { status: statuses.shift() ?? 200 });
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

describe('scale webhook', () => {
  it('POSTs the recommendation per Standard Webhooks, with SCALE_WEBHOOK_SECRET when set', async () => {
    const { calls, fetchImpl } = recorder([204]);
    const sent = await announce(
      'default',
      rec,
      {
        SCALE_WEBHOOK_URL: 'https://ops.example/scale',
        SCALE_WEBHOOK_SECRET: WEBHOOK_KEY,
        CALLBACK_SIGNING_KEY: CALLBACK_KEY,
      },
      fetchImpl,
      noSleep,
    );
    expect(sent).toBe(true);
    expect(calls).toHaveLength(1);
    const { url, headers, body } = calls[0];
    expect(url).toBe('https://ops.example/scale');
    // The official package is the receiver: what it accepts, any Standard Webhooks library does.
    expect(new Webhook(WEBHOOK_KEY).verify(body, headers)).toEqual({ queue: 'default', ...rec });
    expect(() => new Webhook(CALLBACK_KEY).verify(body, headers)).toThrow(/No matching signature/);
    expect(Number(headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
  });

  it('signs with the callback keys, both during a rotation, when there is no webhook secret', async () => {
    const { calls, fetchImpl } = recorder([200]);
    await announce(
      'q',
      rec,
      {
        SCALE_WEBHOOK_URL: 'http://127.0.0.1:1/hook',
        CALLBACK_SIGNING_KEY: CALLBACK_KEY,
        CALLBACK_SIGNING_KEY_NEXT: NEXT_KEY,
      },
      fetchImpl,
      noSleep,
    );
    const { headers, body } = calls[0];
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(CALLBACK_KEY).verify(body, headers)).toEqual({ queue: 'q', ...rec });
    expect(new Webhook(NEXT_KEY).verify(body, headers)).toEqual({ queue: 'q', ...rec });
  });

  it('keeps one webhook-id across the retries of an announcement, a new one for the next', async () => {
    const config = { SCALE_WEBHOOK_URL: 'https://x.example/', SCALE_WEBHOOK_SECRET: WEBHOOK_KEY };
    const flaky = recorder([503, 500, 200, 200]);
    await announce('q', rec, config, flaky.fetchImpl, noSleep);
    await announce('q', rec, config, flaky.fetchImpl, noSleep);
    const ids = flaky.calls.map((c) => c.headers['webhook-id']);
    expect(ids).toHaveLength(4);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(ids[3]).not.toBe(ids[0]);
    for (const c of flaky.calls)
      expect(new Webhook(WEBHOOK_KEY).verify(c.body, c.headers)).toBeTruthy();
  });

  it('refuses keys not in whsec_ form at start, naming the variable', () => {
    const base = { WORKER_TOKEN: 'worker-token-1' };
    const problems = (vars: Record<string, string>) => {
      const r = parseConfig({ ...base, ...vars });
      return r.ok ? [] : r.problems.map((p) => p.variable);
    };
    expect(
      problems({ CALLBACK_SIGNING_KEY: CALLBACK_KEY, SCALE_WEBHOOK_SECRET: WEBHOOK_KEY }),
    ).toEqual([]);
    expect(problems({ CALLBACK_SIGNING_KEY: 'dev-callback-key-0123456789' })).toEqual([
      'CALLBACK_SIGNING_KEY',
    ]);
    expect(problems({ CALLBACK_SIGNING_KEY_NEXT: 'whsec_not base64!' })).toEqual([
      'CALLBACK_SIGNING_KEY_NEXT',
    ]);
    // Base64 of 8 bytes: a key too short to be safe.
    expect(problems({ SCALE_WEBHOOK_SECRET: 'whsec_AAAAAAAAAAA=' })).toEqual([
      'SCALE_WEBHOOK_SECRET',
    ]);
    // Nothing to sign the webhook with: WORKER_TOKEN is not handed to receivers outside.
    expect(problems({ SCALE_WEBHOOK_URL: 'https://ops.example/scale' })).toEqual([
      'SCALE_WEBHOOK_SECRET',
    ]);
  });

  it('retries a receiver that fails, but not one that refuses the request', async () => {
    const flaky = recorder([503, 500, 200]);
    expect(
      await announce(
        'q',
        rec,
        { SCALE_WEBHOOK_URL: 'https://x.example/', SCALE_WEBHOOK_SECRET: WEBHOOK_KEY },
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
        { SCALE_WEBHOOK_URL: 'https://x.example/', SCALE_WEBHOOK_SECRET: WEBHOOK_KEY },
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
        { SCALE_WEBHOOK_URL: 'https://x.example/', SCALE_WEBHOOK_SECRET: WEBHOOK_KEY },
        refused.fetchImpl,
        noSleep,
      ),
    ).toBe(false);
    expect(refused.calls).toHaveLength(1);
  });

  it('only logs when no webhook is configured', async () => {
    const { calls, fetchImpl } = recorder([]);
    expect(await announce('q', rec, {}, fetchImpl, noSleep)).toBe(false);
    expect(calls).toHaveLength(0);
  });
});
