/**
 * `cloud autoscale --listen`: a real HTTP listener receiving events signed the way the API signs the
 * scale webhook (src/core/standard-webhooks.ts), verified by the `standardwebhooks` package inside it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenForAdvice, type WebhookListener } from '../../../cli/autoscale/webhook-listener';
import type { Recommendation } from '../../../src/core/autoscale';
import { webhookHeaders } from '../../../src/core/standard-webhooks';

const KEY = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const OTHER = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;

const event = (queue: string, current: number, desired: number, since = Date.now()) => ({
  queue,
  action: desired > current ? 'scale_up' : desired < current ? 'scale_down' : 'hold',
  reason: 'test',
  current_workers: current,
  desired_workers: desired,
  queue_depth: 12,
  trend_per_min: null,
  since,
});

let listener: WebhookListener;
let got: Array<{ queue: string; rec: Recommendation; madeAt: number }>;
let logged: string[];

beforeEach(async () => {
  got = [];
  logged = [];
  listener = await listenForAdvice({
    host: '127.0.0.1',
    port: 0,
    secret: KEY,
    onAdvice: (queue, rec, madeAt) => got.push({ queue, rec, madeAt }),
    log: (e) => logged.push(e),
  });
});
afterEach(() => listener.close());

async function post(
  body: unknown,
  o: { keys?: string[]; id?: string; at?: number; tamper?: boolean } = {},
) {
  const raw = JSON.stringify(body);
  const headers = await webhookHeaders(
    o.keys ?? [KEY],
    o.id ?? `msg_${Math.random().toString(36).slice(2)}`,
    raw,
    o.at ?? Date.now(),
  );
  const res = await fetch(`http://127.0.0.1:${listener.port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: o.tamper ? raw.replace('"desired_workers":3', '"desired_workers":9') : raw,
  });
  return res.status;
}

describe('scale webhook listener', () => {
  it('takes a signed event as the advice of its queue, dated when the API made it', async () => {
    const made = Date.now() - 4_000;
    // Delivered (retried) later: the advice is as old as its `since`, not as its delivery.
    expect(await post(event('default', 1, 3, made))).toBe(204);
    expect(got).toEqual([
      {
        queue: 'default',
        rec: expect.objectContaining({ action: 'scale_up', desired_workers: 3 }),
        madeAt: made,
      },
    ]);
  });

  it('during a key rotation (two signatures) the one it knows is enough', async () => {
    expect(await post(event('default', 1, 2), { keys: [OTHER, KEY] })).toBe(204);
    expect(got).toHaveLength(1);
  });

  it.each([
    ['signed with another key', { keys: [OTHER] }],
    ['changed after signing', { tamper: true }],
    ['older than the five-minute window', { at: Date.now() - 10 * 60_000 }],
  ])('refuses an event %s with 401, and takes nothing', async (_, o) => {
    expect(await post(event('default', 1, 3), o)).toBe(401);
    expect(got).toEqual([]);
    expect(logged).toContain('webhook_refused');
  });

  it('a retry under the same webhook-id is taken once', async () => {
    expect(await post(event('default', 1, 2), { id: 'msg_same' })).toBe(204);
    expect(await post(event('default', 1, 2), { id: 'msg_same' })).toBe(204);
    expect(got).toHaveLength(1);
  });

  it('an event older than the last one taken for its queue is dropped; other queues are apart', async () => {
    const now = Date.now();
    expect(await post(event('default', 2, 3, now))).toBe(204);
    expect(await post(event('default', 1, 2, now - 5_000))).toBe(204);
    expect(await post(event('batch', 1, 2, now - 5_000))).toBe(204);
    expect(got.map((g) => [g.queue, g.rec.desired_workers])).toEqual([
      ['default', 3],
      ['batch', 2],
    ]);
  });

  it('a signed body that is not a scale event is refused with 400; GET with 405', async () => {
    expect(await post({ hello: 'world' })).toBe(400);
    expect((await fetch(`http://127.0.0.1:${listener.port}/`)).status).toBe(405);
    expect(got).toEqual([]);
  });
});
