/**
 * The node's HTTP surface: `POST /run` and `POST /cancel` from the scheduler, `GET /health` for
 * anyone. Plain node:http: three routes do not need a framework, and the raw body has to be read
 * byte-exact anyway for the signature check.
 *
 * Every scheduler request is authenticated before its body is even parsed: HMAC over method, path,
 * timestamp and raw body (src/core/signature.ts), keyed with the node's own key or else the shared
 * WORKER_TOKEN, refused with 401 when missing, tampered or stale. Errors use the API's shape,
 * `{ error: { code, message, details? } }`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { z } from 'zod';
import { verifyRequest } from '../../src/core/signature';
import {
  CancelRequest,
  DispatchRequest,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from '../../src/protocol/dispatch';

// 256 jobs of at most 64 KiB payload each, with room for the envelope.
const MAX_BODY_BYTES = 20 * 1024 * 1024;

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface NodeSurface {
  dispatch(req: DispatchRequest, signature: string): Reply;
  cancel(req: CancelRequest): Reply;
  health(): unknown;
  /** A draining node answers /run with 503; checked after the signature so strangers learn nothing. */
  draining(): boolean;
}

export function createNodeServer(surface: NodeSurface, secrets: () => readonly string[]): Server {
  const server = createServer((req, res) => {
    handle(req, res, surface, secrets).catch((err: unknown) => {
      send(res, {
        status: 500,
        body: errorBody('internal', err instanceof Error ? err.message : String(err)),
      });
    });
  });
  // The scheduler holds a connection per node; keep it a little longer than its idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  return server;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  surface: NodeSurface,
  secrets: () => readonly string[],
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, methodNotAllowed('GET'));
    return send(res, { status: 200, body: surface.health() });
  }
  if (path !== '/run' && path !== '/cancel')
    return send(res, {
      status: 404,
      body: errorBody('not_found', `no route for ${req.method} ${path}`),
    });
  if (req.method !== 'POST') return send(res, methodNotAllowed('POST'));

  const raw = await readBody(req);
  if (raw === null)
    return send(
      res,
      {
        status: 413,
        body: errorBody('body_too_large', `the body is over ${MAX_BODY_BYTES} bytes`),
      },
      true,
    );

  const signature = header(req, SIGNATURE_HEADER);
  // Over the raw bytes, as signed: decoding first would turn invalid UTF-8 into U+FFFD and break it.
  // The route's path as the scheduler signed it, relative to the node's URL: a proxy in front that
  // mounts the node under a prefix strips it before it gets here.
  const check = await verifyRequest(
    secrets(),
    { method: req.method ?? 'POST', path, body: raw },
    header(req, TIMESTAMP_HEADER),
    signature,
    Date.now(),
  );
  if (!check.ok) {
    const message = {
      missing: `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required`,
      malformed: `${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} is malformed`,
      stale: `${TIMESTAMP_HEADER} is more than 5 minutes away from the node's clock`,
      mismatch: 'the signature does not match the method, path, timestamp and body',
    }[check.reason];
    return send(res, {
      status: 401,
      body: errorBody('bad_signature', message, { reason: check.reason }),
    });
  }

  if (path === '/run' && surface.draining()) {
    return send(res, {
      status: 503,
      body: errorBody('draining', 'this node is draining and takes no new jobs'),
      headers: { 'retry-after': '5' },
    });
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return send(res, {
      status: 400,
      body: errorBody('malformed_json', 'the body is not valid JSON'),
    });
  }
  if (path === '/run') {
    const parsed = DispatchRequest.safeParse(json);
    if (!parsed.success) return send(res, invalid(parsed.error));
    return send(res, surface.dispatch(parsed.data, signature ?? ''));
  }
  const parsed = CancelRequest.safeParse(json);
  if (!parsed.success) return send(res, invalid(parsed.error));
  return send(res, surface.cancel(parsed.data));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** The raw body's bytes, or null when it exceeds the limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

function invalid(error: z.ZodError): Reply {
  const first = error.issues[0];
  const field = first?.path.length ? first.path.map(String).join('.') : 'body';
  return {
    status: 400,
    body: errorBody(
      'validation_failed',
      `${field}: ${first?.message ?? 'invalid'}`,
      error.issues
        .slice(0, 10)
        .map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    ),
  };
}

function methodNotAllowed(allow: string): Reply {
  return { status: 405, body: errorBody('method_not_allowed', `use ${allow}`), headers: { allow } };
}

function send(res: ServerResponse, reply: Reply, closeAfter = false): void {
  if (res.headersSent) return;
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(closeAfter ? { connection: 'close' } : {}),
    ...reply.headers,
  });
  res.end(text);
}
