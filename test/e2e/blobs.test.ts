/**
 * Large payloads and outputs end to end (docs/protocol.md section 2.7): wrangler dev with its local
 * R2 bucket, a real worker node, real jobs. A payload of tens of MiB goes up with PUT /blobs, reaches
 * the node through the signed payload_url and is sent on by an `http` job; an output of tens of MiB
 * goes back through the signed result_upload_url and is read with GET /jobs/:id/output.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness';
import { REPO_ROOT } from './node-process';

let stack: Stack;
let sink: Server;
let sinkUrl: string;

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  // The far end of the http job: answers the size and hash of what it was sent.
  sink = createServer((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
  stack = await startStack();
  await stack.startNode({
    env: { ALLOW_SHELL: '1', SHELL_ALLOWLIST: 'seq', HTTP_JOB_ALLOW_PRIVATE: '1' },
  });
});
afterAll(async () => {
  await stack?.stop();
  sink?.close();
});

async function upload(body: Buffer): Promise<{ id: string; size: number }> {
  const res = await fetch(`${stack.api}/blobs`, {
    method: 'PUT',
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/octet-stream' },
  });
  const answer = (await res.json()) as { blob: { id: string; size: number } };
  expect(res.status).toBe(201);
  return answer.blob;
}

describe('large payloads and results', () => {
  it('runs a job whose 24 MiB payload is a blob, as if it had been inline', async () => {
    const text = 'the quick brown fox jumps over the lazy dog\n'.repeat(
      Math.ceil((24 * 1024 * 1024) / 44),
    );
    const payload = Buffer.from(JSON.stringify({ url: sinkUrl, method: 'POST', body: text }));
    const blob = await upload(payload);
    expect(blob.size).toBe(payload.length);

    const job = await stack.submit({
      type: 'http',
      payload_blob: blob.id,
      max_retries: 0,
      timeout_sec: 60,
    });
    expect(job).toMatchObject({ payload: null, payload_blob: blob.id });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const answer = JSON.parse((done.result!.output as { body: string }).body);
    expect(answer).toEqual({ bytes: Buffer.byteLength(text), sha256: sha256(text) });
  });

  it('hands a runner job its blob payload parsed as JSON', async () => {
    const blob = await upload(Buffer.from('{"from":"a blob","n":[1,2,3]}'));
    const job = await stack.submit({ type: 'echo', payload_blob: blob.id });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 30_000);
    expect(done.status).toBe('succeeded');
    expect(done.result!.output).toEqual({ type: 'echo', result: { from: 'a blob', n: [1, 2, 3] } });
  });

  it('uploads an output of 38 MiB whole, links it to the result, and streams it back', async () => {
    const expected = spawnSync('seq', ['1', '5000000'], { maxBuffer: 64 * 1024 * 1024 }).stdout;
    const job = await stack.submit({
      type: 'shell',
      payload: { argv: ['seq', '1', '5000000'] },
      max_retries: 0,
      timeout_sec: 60,
    });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 60_000);
    expect(done.status).toBe('succeeded');
    expect(done.result!.output_blob).toEqual({
      size: expected.length,
      sha256: sha256(expected),
      attempt: 1,
    });
    // The inline output is still there, trimmed.
    expect(String(done.result!.output).length).toBeLessThan(300 * 1024);

    const res = await fetch(`${stack.api}/jobs/${job.id}/output`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(expected.length));
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      hash.update(chunk);
    }
    expect({ bytes, sha256: hash.digest('hex') }).toEqual({
      bytes: expected.length,
      sha256: sha256(expected),
    });
  });

  it('cloud submit --payload-file uploads a file over 64 KiB as a blob first', async () => {
    const body = 'x'.repeat(200 * 1024);
    const file = join(mkdtempSync(join(tmpdir(), 'cloud-blob-cli-')), 'job.json');
    writeFileSync(file, JSON.stringify({ url: sinkUrl, method: 'POST', body }));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['bin/cloud.mjs', 'submit', '--type', 'http', '--payload-file', file, '--json', '--wait'],
        { cwd: REPO_ROOT, env: { ...process.env, CLOUD_API_URL: stack.api }, timeout: 90_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const { job } = JSON.parse(out);
    expect(job.payload_blob).toMatch(/^blob_/);
    expect(job.status).toBe('succeeded');
    expect(JSON.parse(job.result.output.body)).toEqual({
      bytes: body.length,
      sha256: sha256(body),
    });
  });

  it('keeps a small output inline, without a blob', async () => {
    const job = await stack.submit({ type: 'shell', payload: { argv: ['seq', '1', '10'] } });
    const done = await stack.waitForJob(job.id, 'succeeded', 30_000);
    expect(done.result!.output_blob).toBeUndefined();
    expect((await fetch(`${stack.api}/jobs/${job.id}/output`)).status).toBe(404);
  });
});

// Runner job types read their payload on stdin (--payload-stdin), so a blob payload of many MiB
// reaches a runner job whole, on either executor (docs/protocol.md section 3).
describe('runner jobs on blob payloads far over 64 KiB', () => {
  // About 20 MiB of words; the expected counts are computed here, independently of the runner.
  const words = Array.from({ length: 4_200_000 }, (_, i) =>
    i % 3 === 0 ? 'the' : `w${(i * 7919) % 4999}`,
  );
  const lines = Array.from({ length: words.length / 12 }, (_, l) =>
    words.slice(l * 12, l * 12 + 12).join(l % 2 ? '\t' : ' '),
  );
  const text = `${lines.join('\n')}\n`;
  const counts = new Map<string, number>();
  for (const w of text.split(/[ \t\n\v\f\r]+/).filter(Boolean))
    counts.set(w, (counts.get(w) ?? 0) + 1);
  const top = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 3)
    .map(([word, count]) => ({ word, count }));
  const expected = {
    lines: lines.length,
    words: words.length,
    bytes: Buffer.byteLength(text),
    unique: counts.size,
    top,
  };

  for (const executor of ['native', 'wasm'] as const) {
    it(`counts the words of a ${Math.round(Buffer.byteLength(text) / 2 ** 20)} MiB blob on the ${executor} executor`, async () => {
      expect(Buffer.byteLength(text)).toBeGreaterThan(20 * 1024 * 1024);
      const blob = await upload(Buffer.from(JSON.stringify({ text, top: 3 })));
      // `executor` pins the job to that executor; the node offers both (wasm beside the native binary).
      const job = await stack.submit({
        type: 'wordcount',
        payload_blob: blob.id,
        executor,
        max_retries: 0,
        timeout_sec: 120,
      });
      const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 120_000);
      expect(done.error).toBeNull();
      expect(done.result).toMatchObject({ executor, exit_code: 0 });
      expect(done.result!.output).toEqual({ type: 'wordcount', result: expected });
    });
  }

  for (const executor of ['native', 'wasm'] as const) {
    it(`uploads a runner job's 6 MiB output whole on the ${executor} executor`, async () => {
      const data = 'a runner output far over the inline limit\n'.repeat(150_000);
      const blob = await upload(Buffer.from(JSON.stringify(data)));
      const job = await stack.submit({
        type: 'echo',
        payload_blob: blob.id,
        executor,
        max_retries: 0,
        timeout_sec: 120,
      });
      const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 120_000);
      expect(done.status).toBe('succeeded');
      const whole = Buffer.from(`${JSON.stringify({ type: 'echo', result: data })}\n`);
      expect(done.result!.output_blob).toEqual({
        size: whole.length,
        sha256: sha256(whole),
        attempt: 1,
      });
      const res = await fetch(`${stack.api}/jobs/${job.id}/output`);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(whole));
    });
  }

  it('hashes a 48 MiB blob with sha256 (native)', async () => {
    const data = 'payload über stdin\n'.repeat(2_500_000);
    const blob = await upload(Buffer.from(JSON.stringify({ data })));
    expect(blob.size).toBeGreaterThan(48 * 1024 * 1024);
    const job = await stack.submit({
      type: 'sha256',
      payload_blob: blob.id,
      max_retries: 0,
      timeout_sec: 120,
    });
    const done = await stack.waitForJob(job.id, ['succeeded', 'failed'], 120_000);
    expect(done.status).toBe('succeeded');
    expect(done.result!.output).toEqual({ type: 'sha256', result: { digest: sha256(data) } });
  });
});
