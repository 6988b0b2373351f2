import { createExecutionContext, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app';

/**
 * A body is the most expensive thing a caller can send: no route may read one before it knows who
 * is calling and that the body is within its size. Each request here carries a stream that records
 * a read and then fails, so a handler that consumed it would be caught whatever it answered.
 */
async function post(path: string, headers: Record<string, string>) {
  let read = false;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        read = true;
        controller.error(new Error('the body was read'));
      },
    },
    { highWaterMark: 0 },
  ); // no read ahead: pull() runs only when someone reads
  const res = await createApp().fetch(
    new Request(`http://cloud.test${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    }),
    // As a deployment runs: no anonymous tenant.
    { ...env, ALLOW_ANONYMOUS: 'false' },
    createExecutionContext(),
  );
  return { status: res.status, code: ((await res.json()) as any).error?.code, read };
}

describe('size and authentication before the body', () => {
  for (const path of ['/schedules', '/no/such/route', '/jobs', '/dead-letters/replay']) {
    it(`${path}: an unauthenticated streamed body is refused with 401, unread`, async () => {
      expect(await post(path, {})).toEqual({ status: 401, code: 'unauthorized', read: false });
    });

    it(`${path}: a declared oversized body is refused with 413, unread`, async () => {
      expect(await post(path, { 'content-length': String(64 * 1024 * 1024) })).toEqual({
        status: 413,
        code: 'body_too_large',
        read: false,
      });
    });
  }
});

describe('the worker protocol: its token before the body', () => {
  for (const path of ['/workers/register', '/workers/n1/heartbeat', '/jobs/q.x/result']) {
    it(`${path}: a streamed body without the worker token is refused with 401, unread`, async () => {
      expect(await post(path, {})).toEqual({ status: 401, code: 'unauthorized', read: false });
      expect(await post(path, { authorization: 'Bearer not-the-token' })).toEqual({
        status: 401,
        code: 'unauthorized',
        read: false,
      });
    });
  }
});

describe('a body of undeclared length, once the caller is known', () => {
  it('is read once, within its bound: a streamed schedule is created', async () => {
    const json = JSON.stringify({ cron: '0 0 1 1 *', job: { payload: 'streamed' } });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(json));
        controller.close();
      },
    });
    const res = await createApp().fetch(
      new Request('http://cloud.test/schedules', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(201);
  });
});
