// Large payloads and outputs through R2 (src/api/routes/blobs.ts): uploads, blob jobs, signed URLs,
// output blobs and their retention, against the real bucket, D1 and Scheduler in workerd.
import { env as testEnv, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signBlobUrl } from '../../src/core/blob-url';
import { pruneBlobs } from '../../src/db/blobs';
import { dbOf } from '../../src/db/client';
import { MAX_BLOB_BYTES, outputPath, payloadPath } from '../../src/protocol/blobs';
import type { DispatchedJob } from '../../src/protocol/dispatch';
import { withBlobUrls } from '../../durable-objects/blob-urls';
import type { Scheduler } from '../../durable-objects/scheduler';
import type { Store } from '../../durable-objects/store';
import { api, submit, WORKER_TOKEN } from './helpers';

// The bucket comes from wrangler.toml's [[r2_buckets]]; test/workers/env.d.ts does not list it.
const env = testEnv as typeof testEnv & { BLOBS: R2Bucket };

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789' };

async function put(
  path: string,
  body: BodyInit | null,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch(`http://cloud.test${path}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function upload(
  bytes: Uint8Array<ArrayBuffer> | string,
  headers: Record<string, string> = {},
): Promise<{ id: string; size: number }> {
  const res = await put(
    '/blobs',
    typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes,
    headers,
  );
  expect(res.status).toBe(201);
  return res.body.blob;
}

async function getBytes(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await SELF.fetch(`http://cloud.test${path}`, { headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function dispatched(overrides: Partial<DispatchedJob> = {}): DispatchedJob {
  return {
    job_id: 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q',
    attempt: 1,
    token: 't'.repeat(32),
    queue: 'default',
    type: 'echo',
    payload: null,
    timeout_sec: 60,
    executor: null,
    ...overrides,
  };
}

describe('PUT /blobs', () => {
  it('stores any bytes and answers the blob; the tenant can read it back', async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const res = await put('/blobs', bytes);
    expect(res.status).toBe(201);
    expect(res.body.blob).toMatchObject({
      id: expect.stringMatching(/^blob_[0-9A-Z]{26}$/),
      size: 300_000,
    });
    const got = await SELF.fetch(`http://cloud.test/blobs/${res.body.blob.id}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-length')).toBe('300000');
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    // POST works the same way.
    const posted = await SELF.fetch('http://cloud.test/blobs', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(posted.status).toBe(201);
    // Any content type, curl's default form type included; a JSON body is stored as bytes, not parsed
    // or depth-checked (the JSON-only middleware leaves this route alone).
    const form = await SELF.fetch('http://cloud.test/blobs', {
      method: 'PUT',
      body: 'a=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(201);
    const deep = '['.repeat(5000);
    const json = await SELF.fetch('http://cloud.test/blobs', {
      method: 'PUT',
      body: deep,
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(201);
    const id = ((await json.json()) as { blob: { id: string } }).blob.id;
    expect((await getBytes(`/blobs/${id}`)).text).toBe(deep);
    // Other routes still refuse a non-JSON body.
    const elsewhere = await SELF.fetch('http://cloud.test/jobs', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(elsewhere.status).toBe(415);
  });

  it('refuses a body over 100 MiB from its Content-Length, before reading it', async () => {
    // The declared length is checked first: the 1-byte stream behind it is never read.
    const res = await SELF.fetch('http://cloud.test/blobs', {
      method: 'PUT',
      body: new Uint8Array(1),
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(MAX_BLOB_BYTES + 1),
      },
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { problems: { field: string }[] } };
    };
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toMatch(/104857600/);
    expect(body.error.details.problems[0].field).toBe('(body)');
  });

  it('refuses a body without Content-Length (411), an empty one (400), and a malformed length (400)', async () => {
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('chunked'));
        c.close();
      },
    });
    const chunked = await put('/blobs', stream);
    expect(chunked.status).toBe(411);
    expect(chunked.body.error).toMatchObject({
      code: 'length_required',
      message: expect.stringMatching(/Content-Length/),
    });
    const empty = await put('/blobs', new Uint8Array(0));
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toMatch(/\(body\)/);
  });

  it('needs an API key when anonymous access is off', async () => {
    const { createApp } = await import('../../src/api/app');
    const res = await createApp().fetch(
      new Request('http://cloud.test/blobs', {
        method: 'PUT',
        body: 'x',
        headers: { 'content-length': '1' },
      }),
      { ...env, ALLOW_ANONYMOUS: 'false' },
    );
    expect(res.status).toBe(401);
  });
});

describe('jobs with payload_blob', () => {
  it('accepts a job that names an upload, shows it, and keeps it in the scheduler for dispatch', async () => {
    const blob = await upload(JSON.stringify({ text: 'a b c' }));
    const res = await submit({ type: 'wordcount', payload_blob: blob.id });
    expect(res.status).toBe(201);
    expect(res.body.job).toMatchObject({ payload: null, payload_blob: blob.id, status: 'queued' });
    const got = await api('GET', `/jobs/${res.body.job.id}`);
    expect(got.body.job.payload_blob).toBe(blob.id);
  });

  it('refuses both payload and payload_blob, and neither, naming the field', async () => {
    const blob = await upload('x');
    const both = await submit({ payload: 1, payload_blob: blob.id });
    expect(both.status).toBe(400);
    expect(both.body.error.details.problems).toContainEqual({
      field: 'payload_blob',
      message: 'give payload or payload_blob, not both',
    });
    const neither = await submit({ type: 'echo' });
    expect(neither.status).toBe(400);
    expect(neither.body.error.details.problems).toContainEqual({
      field: 'payload',
      message: 'give payload or payload_blob',
    });
    const malformed = await submit({ payload_blob: '../etc/passwd' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details.problems[0].field).toBe('payload_blob');
  });

  it("refuses an unknown blob and another tenant's blob alike (404 naming the field)", async () => {
    const unknown = await submit({ payload_blob: 'blob_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({
      code: 'blob_not_found',
      details: { problems: [{ field: 'payload_blob', message: 'no such blob' }] },
    });
    const theirs = await upload('secret', { ...ADMIN, 'x-tenant': 'other-tenant' });
    const stolen = await submit({ payload_blob: theirs.id });
    expect(stolen.status).toBe(404);
    expect(stolen.body.error.code).toBe('blob_not_found');
    // Nor can the default tenant download it without a signature.
    expect((await getBytes(`/blobs/${theirs.id}`)).status).toBe(404);
    // In a batch the field carries the index.
    const batch = await api('POST', '/jobs/batch', {
      jobs: [{ payload: 1 }, { payload_blob: theirs.id }],
    });
    expect(batch.status).toBe(404);
    expect(batch.body.error.details.problems[0].field).toBe('jobs.1.payload_blob');
  });

  it('says to upload a blob when an inline payload is over 64 KiB', async () => {
    const res = await submit({ payload: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toMatch(/PUT \/blobs/);
  });

  it('refuses payload_blob in a schedule', async () => {
    const blob = await upload('x');
    const res = await api('POST', '/schedules', {
      cron: '*/5 * * * *',
      job: { payload_blob: blob.id },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems[0].field).toBe('job.payload_blob');
  });

  it('replays a blob job with the same blob', async () => {
    const blob = await upload('"again"');
    const job = (await submit({ payload_blob: blob.id, queue: `blob-replay-${Date.now()}` })).body
      .job;
    expect((await api('POST', `/jobs/${job.id}/cancel`)).status).toBe(200);
    const replay = await api('POST', `/jobs/${job.id}/replay`);
    expect(replay.status).toBe(201);
    expect(replay.body.job).toMatchObject({ payload_blob: blob.id, replay_of: job.id });
  });
});

describe('signed blob URLs', () => {
  it('a dispatch carries a payload URL that downloads the blob with no other credential', async () => {
    const blob = await upload('{"text":"to the node"}', { ...ADMIN, 'x-tenant': 'signed-tenant' });
    const [signed] = await withBlobUrls(
      [dispatched({ payload_blob: blob.id })],
      WORKER_TOKEN,
      Date.now(),
    );
    expect(signed.payload_url).toMatch(
      new RegExp(`^/blobs/${blob.id}\\?exp=\\d+&sig=[0-9a-f]{64}$`),
    );
    expect(signed.result_upload_url).toMatch(
      /^\/blobs\/result\/default\.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q\/1\?exp=\d+&sig=[0-9a-f]{64}$/,
    );
    const exp = Number(new URL(signed.payload_url!, 'http://x').searchParams.get('exp'));
    expect(exp).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 60 + 15 * 60 - 1);
    const got = await getBytes(signed.payload_url!);
    expect(got.status).toBe(200);
    expect(got.text).toBe('{"text":"to the node"}');
    // A job without a blob gets only the upload URL.
    const [plain] = await withBlobUrls([dispatched({ payload: 'x' })], WORKER_TOKEN, Date.now());
    expect(plain.payload_url).toBeUndefined();
    expect(plain.result_upload_url).toBeDefined();
  });

  it('refuses a tampered, expired, foreign or missing signature', async () => {
    const blob = await upload('guarded');
    const other = await upload('other');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const good = await signBlobUrl(WORKER_TOKEN, 'GET', payloadPath(blob.id), exp);
    expect((await getBytes(good)).status).toBe(200);

    const sig = new URL(good, 'http://x').searchParams.get('sig')!;
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    const tampered = await getBytes(`${payloadPath(blob.id)}?exp=${exp}&sig=${flipped}`);
    expect(tampered.status).toBe(403);
    expect(JSON.parse(tampered.text).error.code).toBe('signature_invalid');
    // The same signature for another blob, or a later expiry, does not verify.
    expect((await getBytes(`${payloadPath(other.id)}?exp=${exp}&sig=${sig}`)).status).toBe(403);
    expect((await getBytes(`${payloadPath(blob.id)}?exp=${exp + 1}&sig=${sig}`)).status).toBe(403);
    // Signed with another key.
    expect(
      (await getBytes(await signBlobUrl('not-the-worker-token', 'GET', payloadPath(blob.id), exp)))
        .status,
    ).toBe(403);
    // A GET URL cannot be used to upload.
    const asPut = await put(
      `${outputPath('default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q', 1)}?exp=${exp}&sig=${sig}`,
      'x',
    );
    expect(asPut.status).toBe(403);

    const expired = await getBytes(
      await signBlobUrl(
        WORKER_TOKEN,
        'GET',
        payloadPath(blob.id),
        Math.floor(Date.now() / 1000) - 5,
      ),
    );
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.text).error).toMatchObject({
      code: 'url_expired',
      details: { problems: [{ field: 'exp', message: 'expired' }] },
    });

    const malformed = await getBytes(`${payloadPath(blob.id)}?exp=soon&sig=${sig}`);
    expect(malformed.status).toBe(403);
    const farFuture = await getBytes(
      await signBlobUrl(WORKER_TOKEN, 'GET', payloadPath(blob.id), exp + 30 * 86_400),
    );
    expect(farFuture.status).toBe(403);

    // Only one of the two parameters: the URL is treated as signed and refused.
    expect((await getBytes(`${payloadPath(blob.id)}?exp=${exp}`)).status).toBe(401);
    const unsigned = await put(outputPath('default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q', 1), 'x');
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe('unauthorized');
  });

  it('a signed URL for a blob that is gone is 404', async () => {
    const url = await signBlobUrl(
      WORKER_TOKEN,
      'GET',
      payloadPath('blob_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q'),
      Math.floor(Date.now() / 1000) + 60,
    );
    const res = await getBytes(url);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.code).toBe('blob_not_found');
  });
});

describe('output blobs', () => {
  const sha256Hex = async (bytes: Uint8Array<ArrayBuffer>) =>
    Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('');

  it("the upload URL stores an attempt's output; a wrong checksum is refused", async () => {
    const jobId = 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2A';
    const [signed] = await withBlobUrls(
      [dispatched({ job_id: jobId, attempt: 2 })],
      WORKER_TOKEN,
      Date.now(),
    );
    const bytes = new TextEncoder().encode('line\n'.repeat(100_000));
    const res = await put(signed.result_upload_url!, bytes, {
      'x-content-sha256': await sha256Hex(bytes),
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ size: bytes.byteLength, sha256: await sha256Hex(bytes) });
    const stored = await env.BLOBS.head(`outputs/${jobId}/2`);
    expect(stored?.size).toBe(bytes.byteLength);

    const wrong = await put(signed.result_upload_url!, bytes, { 'x-content-sha256': 'zz' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details.problems[0].field).toBe('X-Content-SHA256');
    const tooBig = await put(signed.result_upload_url!, new Uint8Array(1), {
      'content-length': '0',
    });
    expect(tooBig.status).toBe(400);
  });

  it("links only the fenced attempt's output: a stale attempt's upload is never shown", async () => {
    const queue = `blob-fence-${Date.now()}`;
    const job = (await submit({ payload: 'x', queue })).body.job;
    const stub = env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
    // Attempt 2 holds the job on node w (as after a lost lease); attempt 1 is stale.
    await runInDurableObject(stub, (s) => {
      const store = (s as unknown as { s: { store: Store } }).s.store;
      const active = store.jobById(job.id)!;
      Object.assign(active, {
        status: 'running',
        attempts: 2,
        token: 'current-token',
        worker_id: 'w',
        started_at: Date.now(),
      });
      store.saveJob(active);
    });
    const stale = new TextEncoder().encode('stale attempt output');
    const current = new TextEncoder().encode('current attempt output'.repeat(20_000));
    const [one] = await withBlobUrls(
      [dispatched({ job_id: job.id, attempt: 1 })],
      WORKER_TOKEN,
      Date.now(),
    );
    const [two] = await withBlobUrls(
      [dispatched({ job_id: job.id, attempt: 2 })],
      WORKER_TOKEN,
      Date.now(),
    );
    expect((await put(two.result_upload_url!, current)).status).toBe(201);
    const report =
      (attempt: number, token: string, bytes: Uint8Array<ArrayBuffer>) => async (s: unknown) =>
        (s as Scheduler).reportResult(queue, job.id, {
          worker_id: 'w',
          attempt,
          token,
          exit_code: 0,
          stdout: 'start of it',
          stderr: '',
          duration_ms: 5,
          executor: null,
          timed_out: false,
          output_blob: { size: bytes.byteLength, sha256: await sha256Hex(bytes) },
        });
    const refused = await runInDurableObject(stub, report(1, 'old-token', stale));
    expect(refused).toMatchObject({ ok: false, code: 'stale_attempt' });
    expect(await runInDurableObject(stub, report(2, 'current-token', current))).toMatchObject({
      ok: true,
      status: 'succeeded',
    });
    // The stale attempt uploads late: it lands beside, not over, the current output.
    expect((await put(one.result_upload_url!, stale)).status).toBe(201);

    const done = (await api('GET', `/jobs/${job.id}`)).body.job;
    expect(done.result.output_blob).toEqual({
      size: current.byteLength,
      sha256: await sha256Hex(current),
      attempt: 2,
    });
    const got = await SELF.fetch(`http://cloud.test/jobs/${job.id}/output`);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(current);
    // Another tenant's key gets 404, as for any of its jobs.
    const key = (await api('POST', '/admin/keys', { tenant: 'output-snoop' }, ADMIN)).body
      .key as string;
    const snooped = await getBytes(`/jobs/${job.id}/output`, { 'x-api-key': key });
    expect(snooped.status).toBe(404);
    expect(JSON.parse(snooped.text).error.code).toBe('job_not_found');
  });

  it('GET /jobs/:id/output: 404 for an unknown job, and for a job without an output blob', async () => {
    expect((await api('GET', '/jobs/default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q/output')).status).toBe(404);
    const job = (await submit({ payload: 'small' })).body.job;
    const res = await api('GET', `/jobs/${job.id}/output`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('output_not_found');
  });
});

describe('retention', () => {
  it('deletes uploads nothing refers to and outputs of jobs that are gone, once a day old; keeps the rest', async () => {
    const db = dbOf(env.DB);
    const unused = await upload('unused');
    const used = await upload('used');
    const job = (await submit({ payload_blob: used.id })).body.job;
    const orphanJob = 'gone.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q';
    const [signed] = await withBlobUrls(
      [dispatched({ job_id: orphanJob, attempt: 1 })],
      WORKER_TOKEN,
      Date.now(),
    );
    expect((await put(signed.result_upload_url!, 'orphan output')).status).toBe(201);

    // Nothing is a day old yet: nothing goes.
    await pruneBlobs(db, env.BLOBS, Date.now());
    expect(await env.BLOBS.head(`payloads/${unused.id}`)).not.toBeNull();

    let deleted = 0;
    for (let n = -1; n !== 0; deleted += n)
      n = await pruneBlobs(db, env.BLOBS, Date.now() + 2 * 86_400_000);
    expect(deleted).toBeGreaterThanOrEqual(2);
    expect(await env.BLOBS.head(`payloads/${unused.id}`)).toBeNull();
    expect(await env.BLOBS.head(`outputs/${orphanJob}/1`)).toBeNull();
    // Still named by a job: kept, and the job can still be submitted against it.
    expect(await env.BLOBS.head(`payloads/${used.id}`)).not.toBeNull();
    expect((await submit({ payload_blob: used.id })).status).toBe(201);
    expect((await submit({ payload_blob: unused.id })).status).toBe(404);
    expect(job.payload_blob).toBe(used.id);
  });
});
