// The node's side of large payloads and outputs (worker-node/src/blobs.ts) against a real HTTP
// server: fetching a payload, spooling and uploading an output, and every way those can fail.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePayload,
  fetchPayload,
  OutputSpool,
  uploadLargeOutput,
} from '../../../worker-node/src/blobs';
import { INLINE_OUTPUT_BYTES } from '../../../src/protocol/blobs';
import type { Logger } from '../../../worker-node/src/log';

let server: Server;
let base: string;
const received: { path: string; bytes: number; sha256: string; header: string | undefined }[] = [];
let putStatus = 201;

function handler(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' && req.url?.startsWith('/blobs/ok')) return void res.end('{"a":1}');
  if (req.method === 'GET' && req.url?.startsWith('/blobs/text'))
    return void res.end('plain words');
  if (req.method === 'GET' && req.url?.startsWith('/blobs/big'))
    return void res.end(Buffer.alloc(2048, 'x'));
  if (req.method === 'GET') {
    res.statusCode = 403;
    return void res.end('{"error":{"code":"url_expired"}}');
  }
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  req.on('end', () => {
    received.push({
      path: req.url!,
      bytes,
      sha256: hash.digest('hex'),
      header: req.headers['x-content-sha256'] as string | undefined,
    });
    res.statusCode = putStatus;
    res.end('{}');
  });
}

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

const lines: { level: string; event: string }[] = [];
const log = {
  info: (event: string) => lines.push({ level: 'info', event }),
  warn: (event: string) => lines.push({ level: 'warn', event }),
  error: (event: string) => lines.push({ level: 'error', event }),
  debug: () => {},
} as unknown as Logger;

describe('fetchPayload', () => {
  it('parses JSON, keeps other text as a string, resolves the path against the API URL', async () => {
    expect(
      await fetchPayload(`${base}/ignored/`, '/blobs/ok?exp=1&sig=2', new AbortController().signal),
    ).toEqual({ a: 1 });
    expect(await fetchPayload(base, '/blobs/text', new AbortController().signal)).toBe(
      'plain words',
    );
    expect(decodePayload(Buffer.from('42'))).toBe(42);
  });

  it('refuses an error answer with its status, and a payload over the limit', async () => {
    await expect(
      fetchPayload(base, '/blobs/expired', new AbortController().signal),
    ).rejects.toThrow(/answered 403.*url_expired/);
    await expect(
      fetchPayload(base, '/blobs/big', new AbortController().signal, 1024),
    ).rejects.toThrow(/over 1024 bytes/);
  });
});

describe('OutputSpool and uploadLargeOutput', () => {
  it('leaves a small output alone: no file, no upload', async () => {
    const spool = new OutputSpool();
    spool.push(Buffer.from('small'));
    expect(spool.large).toBe(false);
    expect(
      await uploadLargeOutput(
        spool,
        base,
        '/blobs/result/j/1',
        new AbortController().signal,
        log,
        {},
      ),
    ).toBeUndefined();
    expect(received).toHaveLength(0);
  });

  it('uploads a large output whole with its hash, and removes the file', async () => {
    const spool = new OutputSpool();
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const all = createHash('sha256');
    for (let i = 0; i < 10; i++) {
      spool.push(chunk);
      all.update(chunk);
    }
    expect(spool.large).toBe(true);
    const blob = await uploadLargeOutput(
      spool,
      base,
      '/blobs/result/j/2?exp=1&sig=2',
      new AbortController().signal,
      log,
      {},
    );
    const digest = all.digest('hex');
    expect(blob).toEqual({ size: 10 * chunk.length, sha256: digest });
    expect(received.at(-1)).toEqual({
      path: '/blobs/result/j/2?exp=1&sig=2',
      bytes: 10 * chunk.length,
      sha256: digest,
      header: digest,
    });
    expect(existsSync((spool as unknown as { dir: string }).dir)).toBe(false);
  });

  it('keeps at most its limit', async () => {
    const spool = new OutputSpool(INLINE_OUTPUT_BYTES + 10);
    spool.push(Buffer.alloc(INLINE_OUTPUT_BYTES + 100, 'z'));
    expect(spool.size).toBe(INLINE_OUTPUT_BYTES + 10);
    const blob = await uploadLargeOutput(
      spool,
      base,
      '/blobs/result/j/3',
      new AbortController().signal,
      log,
      {},
    );
    expect(blob?.size).toBe(INLINE_OUTPUT_BYTES + 10);
  });

  it('a refused upload is logged and the result goes out inline', async () => {
    putStatus = 403;
    try {
      const spool = new OutputSpool();
      spool.push(Buffer.alloc(INLINE_OUTPUT_BYTES + 1, 'w'));
      expect(
        await uploadLargeOutput(
          spool,
          base,
          '/blobs/result/j/4',
          new AbortController().signal,
          log,
          {},
        ),
      ).toBeUndefined();
      expect(lines.at(-1)).toEqual({ level: 'warn', event: 'output_upload_failed' });
      // Without an upload URL (an older scheduler) nothing is tried.
      const other = new OutputSpool();
      other.push(Buffer.alloc(INLINE_OUTPUT_BYTES + 1, 'w'));
      const before = received.length;
      expect(
        await uploadLargeOutput(other, base, undefined, new AbortController().signal, log, {}),
      ).toBeUndefined();
      expect(received.length).toBe(before);
    } finally {
      putStatus = 201;
    }
  });
});
