/**
 * Large payloads and outputs (docs/protocol.md section 2.7). Bodies here are raw bytes, streamed
 * between the client and R2: nothing is buffered whole in the Worker (128 MB of memory, 100 MiB blobs).
 *
 * - `PUT /blobs` (or POST): a tenant uploads a payload; a job then names it as `payload_blob`.
 * - `GET /blobs/:id`: with `exp` and `sig` (the URL a dispatch carries) no other credential is needed;
 *   without them, the blob's tenant (or the admin) may read it.
 * - `PUT /blobs/result/:job/:attempt?exp&sig`: a node uploads an attempt's whole stdout.
 * - `GET /jobs/:id/output`: a job's output blob, for its tenant.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { verifyBlobUrl } from '../../core/blob-url';
import { ulid } from '../../core/ids';
import { insertBlob, payloadBlob } from '../../db/blobs';
import { dbOf } from '../../db/client';
import { getJob } from '../../db/read-jobs';
import {
  BlobId,
  BlobView,
  MAX_BLOB_BYTES,
  outputKey,
  outputPath,
  payloadKey,
  payloadPath,
} from '../../protocol/blobs';
import { JobId, ErrorBody } from '../../protocol/common';
import { JobIdParam, type JobResult } from '../../protocol/job';
import { log } from '../../log';
import { ApiError } from '../errors';
import { readScope, type AppEnv } from '../context';
import { errors } from '../openapi-helpers';

const binary = { schema: z.string().openapi({ type: 'string', format: 'binary' }) };
const errorReply = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorBody } },
});
const signedQuery = z.object({
  exp: z.string().optional().openapi({ description: 'Expiry of a signed URL, unix seconds' }),
  sig: z.string().optional().openapi({ description: 'HMAC-SHA256 of the signed URL (hex)' }),
});

const uploadRoute = (method: 'put' | 'post') =>
  createRoute({
    method,
    path: '/blobs',
    tags: ['blobs'],
    summary: `Upload a payload of up to ${MAX_BLOB_BYTES / 1024 / 1024} MiB (any bytes; Content-Length required), then submit a job with payload_blob`,
    request: { body: { required: true, content: { 'application/octet-stream': binary } } },
    responses: {
      201: {
        description: 'Stored',
        content: { 'application/json': { schema: z.object({ blob: BlobView }) } },
      },
      411: errorReply('Content-Length is required'),
      ...errors(400, 401, 413),
    },
  });

const download = createRoute({
  method: 'get',
  path: '/blobs/{id}',
  tags: ['blobs'],
  summary: 'Download a payload blob: by its signed URL (exp, sig), or as its tenant',
  request: {
    params: z.object({ id: BlobId.openapi({ param: { name: 'id', in: 'path' } }) }),
    query: signedQuery,
  },
  responses: {
    200: { description: 'The bytes', content: { 'application/octet-stream': binary } },
    403: errorReply('The signature is wrong or the URL expired'),
    ...errors(400, 401, 404),
  },
});

const uploadOutput = createRoute({
  method: 'put',
  path: '/blobs/result/{job}/{attempt}',
  tags: ['worker protocol'],
  summary:
    "A node uploads an attempt's whole stdout to the signed result_upload_url of its dispatch",
  request: {
    params: z.object({
      job: JobId.openapi({ param: { name: 'job', in: 'path' } }),
      attempt: z.coerce
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .openapi({ param: { name: 'attempt', in: 'path' } }),
    }),
    query: signedQuery,
    body: { required: true, content: { 'application/octet-stream': binary } },
  },
  responses: {
    201: {
      description: 'Stored',
      content: {
        'application/json': {
          schema: z.object({ size: z.number().int(), sha256: z.string().nullable() }),
        },
      },
    },
    403: errorReply('The signature is wrong or the URL expired'),
    411: errorReply('Content-Length is required'),
    ...errors(400, 401, 413),
  },
});

const output = createRoute({
  method: 'get',
  path: '/jobs/{id}/output',
  tags: ['jobs'],
  summary: "A job's whole stdout, when it was too large to keep inline (result.output_blob)",
  request: { params: JobIdParam },
  responses: {
    200: { description: 'The bytes', content: { 'application/octet-stream': binary } },
    ...errors(400, 401, 404),
  },
});

/** Requests whose body is raw bytes: exempt from the JSON-only checks (src/api/app.ts). */
export function isBlobUpload(c: Context): boolean {
  const m = c.req.method;
  const path = new URL(c.req.url).pathname;
  return (
    ((m === 'PUT' || m === 'POST') && path === '/blobs') ||
    (m === 'PUT' && path.startsWith('/blobs/result/'))
  );
}

/** Requests that authenticate by their URL's signature alone: exempt from clientAuth; the handler verifies. */
export function isSignedBlobRequest(c: Context): boolean {
  const m = c.req.method;
  const url = new URL(c.req.url);
  if (m === 'PUT' && url.pathname.startsWith('/blobs/result/')) return true;
  return (
    (m === 'GET' || m === 'HEAD') &&
    /^\/blobs\/[^/]+$/.test(url.pathname) &&
    (url.searchParams.has('sig') || url.searchParams.has('exp'))
  );
}

export const blobRoutes = new OpenAPIHono<AppEnv>()
  .openapi(uploadRoute('put'), (c) => upload(c))
  .openapi(uploadRoute('post'), (c) => upload(c))
  .openapi(download, async (c) => {
    const { id } = c.req.valid('param');
    const { exp, sig } = c.req.valid('query');
    if (exp !== undefined || sig !== undefined)
      await checkSignature(c, 'GET', payloadPath(id), exp, sig);
    else if (!(await payloadBlob(dbOf(c.env.DB), readScope(c), id))) throw blobNotFound(id);
    const object = await c.env.BLOBS.get(payloadKey(id));
    if (!object) throw blobNotFound(id);
    return streamed(object) as never;
  })
  .openapi(uploadOutput, async (c) => {
    const { job, attempt } = c.req.valid('param');
    const { exp, sig } = c.req.valid('query');
    await checkSignature(c, 'PUT', outputPath(job, attempt), exp, sig);
    const size = declaredSize(c);
    const sha256 = c.req.header('x-content-sha256');
    if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new ApiError(400, 'validation_failed', 'X-Content-SHA256: 64 lowercase hex digits', {
        problems: [{ field: 'X-Content-SHA256', message: '64 lowercase hex digits' }],
      });
    }
    // The key holds the attempt: a late upload from a stale attempt lands beside the current one's, and
    // only the result the scheduler accepts (fenced) links an output to the job.
    await c.env.BLOBS.put(outputKey(job, attempt), c.req.raw.body!, {
      httpMetadata: { contentType: 'application/octet-stream' },
      ...(sha256 ? { sha256 } : {}),
    });
    await insertBlob(dbOf(c.env.DB), {
      id: `${job}/${attempt}`,
      kind: 'output',
      tenant: null,
      jobId: job,
      size,
      sha256: sha256 ?? null,
      createdAt: Date.now(),
    });
    log({ event: 'output_uploaded', job_id: job, attempt, size, request_id: c.get('requestId') });
    return c.json({ size, sha256: sha256 ?? null }, 201);
  })
  .openapi(output, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getJob(dbOf(c.env.DB), readScope(c), id);
    if (!row) throw new ApiError(404, 'job_not_found', 'no such job');
    const blob = row.result ? (JSON.parse(row.result) as JobResult).output_blob : undefined;
    if (!blob)
      throw new ApiError(
        404,
        'output_not_found',
        `job ${id} has no output blob: its output is inline in result.output`,
      );
    const object = await c.env.BLOBS.get(outputKey(id, blob.attempt));
    if (!object)
      throw new ApiError(404, 'output_not_found', `the output of job ${id} is no longer stored`);
    return streamed(object) as never;
  });

async function upload(c: Context<AppEnv>) {
  const size = declaredSize(c);
  const id = `blob_${ulid(Date.now())}`;
  const tenant = c.get('tenant');
  const now = Date.now();
  // Content-Length is known, so R2 takes the request body as a stream of that length (workerd
  // refuses a shorter or longer body), and the Worker never holds more than a chunk of it.
  await c.env.BLOBS.put(payloadKey(id), c.req.raw.body!, {
    httpMetadata: { contentType: c.req.header('content-type') || 'application/octet-stream' },
    customMetadata: { tenant },
  });
  try {
    await insertBlob(dbOf(c.env.DB), {
      id,
      kind: 'payload',
      tenant,
      jobId: null,
      size,
      sha256: null,
      createdAt: now,
    });
  } catch (e) {
    await c.env.BLOBS.delete(payloadKey(id));
    throw new ApiError(
      503,
      'storage_unavailable',
      `could not record the blob: ${String(e).slice(0, 200)}`,
    );
  }
  log({ event: 'blob_uploaded', blob_id: id, size, tenant, request_id: c.get('requestId') });
  return c.json({ blob: { id, size, created_at: new Date(now).toISOString() } }, 201);
}

/** The body's length from Content-Length, which R2 needs up front; over the limit is refused before any byte is read. */
function declaredSize(c: Context): number {
  const header = c.req.header('content-length');
  if (header === undefined || !c.req.raw.body) {
    if (header === '0') return emptyBodyRefused();
    throw new ApiError(
      411,
      'length_required',
      'Content-Length: the upload must declare its size (chunked bodies are not accepted)',
      { problems: [{ field: 'Content-Length', message: 'required' }] },
    );
  }
  if (!/^\d{1,15}$/.test(header))
    throw new ApiError(400, 'validation_failed', 'Content-Length: not a byte count', {
      problems: [{ field: 'Content-Length', message: 'not a byte count' }],
    });
  const size = Number(header);
  if (size > MAX_BLOB_BYTES) {
    throw new ApiError(
      413,
      'payload_too_large',
      `the body is ${size} bytes, the limit for a blob is ${MAX_BLOB_BYTES} (100 MiB)`,
      {
        problems: [{ field: '(body)', message: `at most ${MAX_BLOB_BYTES} bytes` }],
        limit: MAX_BLOB_BYTES,
      },
    );
  }
  if (size === 0) return emptyBodyRefused();
  return size;
}

function emptyBodyRefused(): never {
  throw new ApiError(400, 'validation_failed', '(body): an upload needs at least one byte', {
    problems: [{ field: '(body)', message: 'empty' }],
  });
}

async function checkSignature(
  c: Context<AppEnv>,
  method: 'GET' | 'PUT',
  path: string,
  exp: string | undefined,
  sig: string | undefined,
): Promise<void> {
  const checked = await verifyBlobUrl(
    [c.get('config').WORKER_TOKEN],
    method,
    path,
    exp,
    sig,
    Date.now(),
  );
  if (checked.ok) return;
  if (checked.reason === 'missing')
    throw new ApiError(
      401,
      'unauthorized',
      'exp and sig: this URL must be signed (the result_upload_url of a dispatch)',
      { problems: [{ field: exp ? 'sig' : 'exp', message: 'required' }] },
    );
  if (checked.reason === 'expired')
    throw new ApiError(403, 'url_expired', 'exp: the signed URL has expired', {
      problems: [{ field: 'exp', message: 'expired' }],
    });
  throw new ApiError(403, 'signature_invalid', 'sig: the signature does not match this URL', {
    problems: [{ field: 'sig', message: 'does not match' }],
  });
}

function blobNotFound(id: string): ApiError {
  return new ApiError(404, 'blob_not_found', `no such blob: ${id}`);
}

function streamed(object: R2ObjectBody): Response {
  const headers = new Headers({
    'content-type': object.httpMetadata?.contentType ?? 'application/octet-stream',
    'content-length': String(object.size),
    etag: object.httpEtag,
  });
  return new Response(object.body, { status: 200, headers });
}
