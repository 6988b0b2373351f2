/**
 * The node's batched results (worker-node/src/result-batch.ts) against a real HTTP server that
 * validates each body with the real schema and answers as the test scripts: results that finish
 * while a request is in flight ride the next one; failures are retried, a malformed batch is split,
 * a 404 drops everything, and a result left for a lease request is not sent on its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ResultsRequest, type ResultItemBody } from '../../../src/protocol/results';
import { createApiClient } from '../../../worker-node/src/api-client';
import { createLogger } from '../../../worker-node/src/log';
import { ResultBatcher } from '../../../worker-node/src/result-batch';

type Answer = { status: number; body: unknown } | 'accept';

interface Fake {
  url: string;
  bodies: ResultItemBody[][];
  script(...answers: Answer[]): void;
  close(): Promise<void>;
}

async function startFake(): Promise<Fake> {
  const bodies: ResultItemBody[][] = [];
  const answers: Answer[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const parsed = ResultsRequest.safeParse(JSON.parse(text));
      expect(req.url).toBe('/workers/node-1/results');
      expect(parsed.success, text).toBe(true);
      const items = parsed.data!.results;
      bodies.push(items);
      const a = answers.shift() ?? 'accept';
      const reply =
        a === 'accept'
          ? {
              status: 200,
              body: {
                results: items.map((i) => ({
                  job_id: i.job_id,
                  verdict: 'accepted',
                  status: 'succeeded',
                })),
              },
            }
          : a;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    script: (...a) => answers.push(...a),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const JOB = (n: number) => `q.01JD2K7Q6V9X8Y7Z6W5T4S3R${String(n).padStart(2, '0')}`;
const result = (n: number): ResultItemBody => ({
  job_id: JOB(n),
  attempt: 1,
  token: `t${n}`,
  exit_code: 0,
  stdout: '',
  stderr: '',
  duration_ms: 1,
  executor: null,
});
const quiet = createLogger({ write: () => {} });

let fake: Fake | undefined;
let batcher: ResultBatcher | undefined;
afterEach(async () => {
  batcher?.stop();
  await fake?.close();
});

async function setUp(carrier = () => false) {
  fake = await startFake();
  const api = createApiClient(fake.url, { token: 'tok', signingKey: 'tok' });
  batcher = new ResultBatcher(api, 'node-1', quiet, carrier);
  return { fake, batcher };
}

const never = () => new AbortController().signal;

describe('ResultBatcher', () => {
  it('sends the first result at once and the ones that finish meanwhile together', async () => {
    const { fake, batcher } = await setUp();
    const outcomes = await Promise.all([1, 2, 3].map((n) => batcher.report(result(n), never())));
    expect(outcomes).toEqual(['reported', 'reported', 'reported']);
    expect(fake.bodies.map((b) => b.map((i) => i.job_id))).toEqual([[JOB(1)], [JOB(2), JOB(3)]]);
  });

  it('retries a batch the API could not take (503), and a refused verdict ends its result', async () => {
    const { fake, batcher } = await setUp();
    fake.script(
      { status: 503, body: { error: { code: 'unavailable', message: 'later' } } },
      {
        status: 200,
        body: {
          results: [{ job_id: JOB(1), verdict: 'refused', code: 'stale_attempt', message: 'x' }],
        },
      },
    );
    expect(await batcher.report(result(1), never())).toBe('refused');
    expect(fake.bodies).toHaveLength(2);
  });

  it('splits a batch refused as malformed, so only the bad result is rejected', async () => {
    const { fake, batcher } = await setUp();
    const bad = { status: 400, body: { error: { code: 'validation_failed', message: 'no' } } };
    // First request (result 1 alone) is held by a 503 while 2 and 3 queue up behind it.
    fake.script({ status: 503, body: {} }, bad, 'accept', bad);
    const outcomes = await Promise.all([1, 2, 3].map((n) => batcher.report(result(n), never())));
    expect(fake.bodies.map((b) => b.map((i) => i.job_id))).toEqual([
      [JOB(1)],
      [JOB(1), JOB(2), JOB(3)],
      [JOB(1)],
      [JOB(2)],
      [JOB(3)],
    ]);
    expect(outcomes).toEqual(['reported', 'rejected', 'reported']);
  });

  it('drops every result of a batch answered 404 (the node was reaped)', async () => {
    const { fake, batcher } = await setUp();
    fake.script({ status: 404, body: { error: { code: 'worker_unknown', message: 'gone' } } });
    expect(await batcher.report(result(1), never())).toBe('refused');
  });

  it('leaves results for the lease request while a pull node is between polls', async () => {
    let carrying = true;
    const { fake, batcher } = await setUp(() => carrying);
    const pending = batcher.report(result(1), never());
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.bodies).toEqual([]);
    const batch = batcher.take();
    expect(batch.map((p) => p.item.job_id)).toEqual([JOB(1)]);
    batcher.settle(batch, [{ job_id: JOB(1), verdict: 'accepted', status: 'succeeded' }], 'lease');
    expect(await pending).toBe('reported');
    // A lease request that failed gives its results back: they go on their own.
    carrying = false;
    const next = batcher.report(result(2), never());
    expect(await next).toBe('reported');
    expect(fake.bodies.map((b) => b.map((i) => i.job_id))).toEqual([[JOB(2)]]);
  });

  it('abandons a queued result whose lease was killed, without sending it', async () => {
    const { fake, batcher } = await setUp(() => true);
    const kill = new AbortController();
    const pending = batcher.report(result(1), kill.signal);
    kill.abort('lease_revoked');
    expect(await pending).toBe('abandoned');
    expect(batcher.take()).toEqual([]);
    expect(fake.bodies).toEqual([]);
  });
});
