/**
 * Callbacks end to end: a finished job is POSTed to its callback URL, signed with the current and the
 * next key, retried with backoff until the receiver answers 2xx, and the delivery shows on the job.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../../src/core/signature';
import { freePort, startStack, type Stack } from './harness';

const CURRENT = 'dev-callback-key-0123456789'; // .dev.vars
const NEXT = 'next-callback-key-0123456789';
let stack: Stack;
let receiver: Server;
let port: number;
const received: {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  stack = await startStack({ vars: { CALLBACK_SIGNING_KEY_NEXT: NEXT } });
  port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
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
    const ts = String(last.headers['x-cloud-timestamp']);
    const sig = String(last.headers['x-cloud-signature']);
    expect(sig.split(',').map((s) => s.trim())).toHaveLength(2);
    // A receiver that knows only the current key, or only the next one, accepts it: rotation without downtime.
    expect(await verify([CURRENT], ts, sig, last.body, Date.now())).toEqual({ ok: true });
    expect(await verify([NEXT], ts, sig, last.body, Date.now())).toEqual({ ok: true });
    expect(await verify(['some-other-key-0123456789'], ts, sig, last.body, Date.now())).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    // Backoff: 2 s, then 4 s.
    const times = deliveries.map((d) => Number(d.headers['x-cloud-timestamp']));
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
    expect(JSON.parse(hit!.body)).toMatchObject({ event: 'job.failed', job: { status: 'failed' } });
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
