/**
 * Callbacks end to end: a finished job is POSTed to its callback URL, signed per Standard Webhooks
 * with the current and the next key, retried with backoff until the receiver answers 2xx, and the
 * delivery shows on the job. The receiver verifies with the official `standardwebhooks` package, code
 * no one here wrote, as a user's receiver would.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, type Stack } from './harness';

// The stack runs with .dev.vars, so its development key is the current one.
const CURRENT = /^CALLBACK_SIGNING_KEY=(\S+)$/m.exec(
  readFileSync(new URL('../../.dev.vars', import.meta.url), 'utf8'),
)![1];
const NEXT = 'whsec_DP4oYKGziZ8GNwUDCsTEx9t4NAd8ZVgCOdtJQMqjFlQ=';
const OTHER = 'whsec_OTZaqOOB4VuhDZ2bXVWKLsZFGUXd49pXWH33yGkSg4k=';
let stack: Stack;
let receiver: Server;
let port: number;
const received: {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  stack = await startStack({ vars: { CALLBACK_SIGNING_KEY_NEXT: NEXT } });
  port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
      );
      received.push({ path: req.url ?? '', headers, body, at: Date.now() });
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end('not yet');
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
  await stack.startNode();
});
afterAll(async () => {
  receiver?.close();
  await stack?.stop();
});

describe('callbacks', () => {
  it('delivers a signed callback, retrying with backoff until the receiver takes it', async () => {
    failuresLeft = 2;
    const job = await stack.submit({
      type: 'fib',
      payload: { n: 10 },
      callback_url: `http://127.0.0.1:${port}/hooks/ok`,
    });
    const done = await stack.waitForJob(job.id, (j) => j.callback?.status === 'delivered', 30_000);
    expect(done.callback).toMatchObject({
      attempts: 3,
      last_status: 204,
      event: 'job.succeeded',
      url: `http://127.0.0.1:${port}/hooks/ok`,
    });
    const deliveries = received.filter((r) => r.path === '/hooks/ok');
    expect(deliveries).toHaveLength(3);
    const last = deliveries[2];
    const body = JSON.parse(last.body);
    expect(body).toMatchObject({
      event: 'job.succeeded',
      job: {
        id: job.id,
        status: 'succeeded',
        result: { exit_code: 0, output: { result: { value: 55 } } },
      },
    });
    expect(last.headers['webhook-signature'].split(' ')).toHaveLength(2);
    // A receiver that knows only the current key, or only the next one, accepts every attempt:
    // rotation without downtime.
    for (const d of deliveries) {
      expect(new Webhook(CURRENT).verify(d.body, d.headers)).toEqual(JSON.parse(d.body));
      expect(new Webhook(NEXT).verify(d.body, d.headers)).toEqual(JSON.parse(d.body));
      expect(() => new Webhook(OTHER).verify(d.body, d.headers)).toThrow(/No matching signature/);
    }
    // One event, one webhook-id on every retry: what receivers deduplicate on.
    expect(new Set(deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
    expect(last.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    // A body altered on the way fails.
    expect(() =>
      new Webhook(CURRENT).verify(last.body.replace('55', '56'), last.headers),
    ).toThrow();
    // Backoff: 2 s, then 4 s.
    const times = deliveries.map((d) => d.at);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(1500);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(3500);
  });

  it('sends a failed job to its failure_callback_url', async () => {
    failuresLeft = 0;
    const job = await stack.submit({
      type: 'fail',
      payload: { code: 7, message: 'nope' },
      max_retries: 0,
      callback_url: `http://127.0.0.1:${port}/hooks/ok`,
      failure_callback_url: `http://127.0.0.1:${port}/hooks/failed`,
    });
    const done = await stack.waitForJob(job.id, (j) => j.callback?.status === 'delivered', 30_000);
    expect(done.status).toBe('failed');
    const hit = received.find(
      (r) => r.path === '/hooks/failed' && JSON.parse(r.body).job.id === job.id,
    );
    expect(new Webhook(CURRENT).verify(hit!.body, hit!.headers)).toMatchObject({
      event: 'job.failed',
      job: { status: 'failed' },
    });
    // Another event, another webhook-id.
    const others = received.filter((r) => r !== hit).map((r) => r.headers['webhook-id']);
    expect(others.length).toBeGreaterThan(0);
    expect(others).not.toContain(hit!.headers['webhook-id']);
    expect(
      received.some((r) => r.path === '/hooks/ok' && JSON.parse(r.body).job.id === job.id),
    ).toBe(false);
  });

  it('refuses a callback URL with credentials, naming the field', async () => {
    const r = await stack.call('POST', '/jobs', {
      payload: 1,
      callback_url: 'http://user:pw@127.0.0.1/x',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('callback_url');
  });
});
