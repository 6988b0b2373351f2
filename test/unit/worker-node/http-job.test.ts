import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutboundAddress, type UrlPolicy } from '../../../src/core/url-policy';
import { MAX_HTTP_BODY_BYTES, runHttpJob } from '../../../worker-node/src/jobs/http-job';

// A real HTTP server on loopback plays the remote end. The node's default policy refuses loopback,
// so the happy-path cases opt in with allowPrivate, as an operator would for an internal target.
let server: Server;
let base: string;
const seen: Array<{
  method?: string;
  url?: string;
  headers: Record<string, unknown>;
  body: string;
}> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === '/redirect')
        return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
      if (req.url === '/fail') return res.writeHead(500).end('boom');
      if (req.url === '/big') return res.writeHead(200).end('x'.repeat(MAX_HTTP_BODY_BYTES * 3));
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 5_000);
      res
        .writeHead(200, { 'content-type': 'text/plain', 'x-test': 'yes' })
        .end(`hello ${req.method}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const local: UrlPolicy = { allowPrivate: true };
const strict: UrlPolicy = { allowPrivate: false };
const run = (payload: unknown, policy = local, timeoutMs = 10_000, signal?: AbortSignal) =>
  runHttpJob({ payload, timeoutMs, signal }, policy);

describe('http job', () => {
  it('makes the request and reports status, headers and body', async () => {
    const r = await run({
      url: `${base}/ok`,
      method: 'POST',
      headers: { 'x-custom': '1' },
      body: { a: 1 },
    });
    expect(r).toMatchObject({ exit_code: 0, executor: null, timed_out: false, stderr: '' });
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      status: 200,
      body: 'hello POST',
      truncated: false,
      headers: { 'x-test': 'yes' },
    });
    const req = seen.at(-1)!;
    expect(req.headers).toMatchObject({ 'x-custom': '1', 'content-type': 'application/json' });
    expect(req.body).toBe('{"a":1}');
  });

  it('fails (exit 1) when the status is not the expected one', async () => {
    const r = await run({ url: `${base}/fail` });
    expect(r.exit_code).toBe(1);
    expect(JSON.parse(r.stdout).status).toBe(500);
    expect(JSON.parse(r.stderr).error).toMatchObject({
      code: 'unexpected_status',
      message: 'expected 2xx, got 500',
    });
    expect((await run({ url: `${base}/fail`, expect_status: 500 })).exit_code).toBe(0);
  });

  it('never follows a redirect', async () => {
    const r = await run({ url: `${base}/redirect`, expect_status: 302 });
    expect(r.exit_code).toBe(0);
    expect(JSON.parse(r.stdout).headers.location).toBe('http://169.254.169.254/');
    expect(seen.filter((s) => s.url === '/redirect')).toHaveLength(1);
  });

  it('keeps at most 64 KiB of the body', async () => {
    const out = JSON.parse((await run({ url: `${base}/big` })).stdout);
    expect(out.truncated).toBe(true);
    expect(out.body.length).toBeLessThan(MAX_HTTP_BODY_BYTES + 100);
  });

  it('times out', async () => {
    const r = await run({ url: `${base}/slow` }, local, 200);
    expect(r).toMatchObject({ timed_out: true, exit_code: 137 });
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect(await run({ url: `${base}/slow` }, local, 10_000, ac.signal)).toMatchObject({
      cancelled: true,
      exit_code: 137,
    });
  });

  it.each([
    [{ url: 'http://127.0.0.1:1/' }, 'url_refused'],
    [{ url: 'http://169.254.169.254/latest/meta-data/' }, 'url_refused'],
    [{ url: 'http://localhost/' }, 'url_refused'],
    [{ url: 'http://[::ffff:10.0.0.1]/' }, 'url_refused'],
    [{ url: 'file:///etc/passwd' }, 'url_refused'],
    [{ url: 'http://u:p@example.com/' }, 'url_refused'],
    [{}, 'bad_payload'],
    [{ url: 'https://example.com', method: 'TRACE' }, 'bad_payload'],
    [{ url: 'https://example.com', headers: { host: 'evil' } }, 'bad_payload'],
    [{ url: 'https://example.com', headers: { 'x-a': 'b\r\nInjected: 1' } }, 'bad_payload'],
    [{ url: 'https://example.com', extra: 1 }, 'bad_payload'],
  ])('refuses %j permanently (exit 3, %s) without sending anything', async (payload, code) => {
    const before = seen.length;
    const r = await run(payload, strict);
    expect(r.exit_code).toBe(3);
    expect(JSON.parse(r.stderr).error.code).toBe(code);
    expect(seen.length).toBe(before);
  });

  it('an allowlist is the only way in', async () => {
    const port = new URL(base).port;
    expect(
      (await run({ url: `${base}/ok` }, { allowlist: ['127.0.0.1'], allowPrivate: false }))
        .exit_code,
    ).toBe(0);
    const r = await run(
      { url: `http://localhost:${port}/ok` },
      { allowlist: ['127.0.0.1'], allowPrivate: false },
    );
    expect(JSON.parse(r.stderr).error.code).toBe('url_refused');
  });

  it('checks the address a name resolves to, at connect time (DNS rebinding)', async (ctx) => {
    // The machine's own hostname usually resolves to a loopback or private address; if it does not
    // here, there is no name we can rely on to exercise this path.
    const name = hostname();
    const resolved = await lookup(name).catch(() => null);
    if (!resolved || checkOutboundAddress(resolved.address, strict).ok) return ctx.skip();
    const before = seen.length;
    const r = await run({ url: `http://${name}:${new URL(base).port}/ok` }, strict);
    expect(r.exit_code).toBe(3);
    expect(JSON.parse(r.stderr).error).toMatchObject({
      code: 'url_refused',
      message: expect.stringContaining(resolved.address),
    });
    expect(seen.length).toBe(before);
  });
});
