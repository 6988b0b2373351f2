import type { Context, MiddlewareHandler } from 'hono';
import { sameDigest, sha256Hex } from '../../core/api-key';
import { describeBinding, mayActAs, parseNodeKey } from '../../core/node-key';
import { verifyRequest, type VerifyFailure } from '../../core/signature';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../protocol/dispatch';
import { ApiError } from '../errors';
import type { AppEnv, NodeCaller } from '../context';
import { lookUpNodeKey } from '../node-key-cache';
import { readBodyWithin } from './body-limits';
import { jsonText } from './json-only';

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);

/**
 * Every worker-protocol call carries `Authorization: Bearer <credential>`: the node's own key
 * (`nk_<id>_<secret>`, /admin/node-keys) or the shared WORKER_TOKEN (local development; refused
 * when ALLOW_SHARED_WORKER_TOKEN=false). Sets `node` for what follows.
 */
export function workerAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = c.get('config');
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    const presented = match?.[1].trim() ?? '';
    if (!presented)
      throw unauthorized(
        'a worker credential is required: Authorization: Bearer <node key or WORKER_TOKEN>',
      );
    const parsed = parseNodeKey(presented);
    let caller: NodeCaller;
    if (parsed) {
      const found = await lookUpNodeKey(c.env, parsed.id, config.NODE_KEY_CACHE_SEC * 1000);
      if (!found.ok && found.reason === 'unavailable')
        throw new ApiError(
          503,
          'node_keys_unavailable',
          'the node key cannot be checked now (its store did not answer): retry',
          undefined,
          { 'retry-after': '5' },
        );
      if (!found.ok || !sameDigest(await sha256Hex(parsed.secret), found.key.secretHash))
        throw unauthorized('the node key is not valid (unknown, or not this secret)');
      if (found.key.revokedAt !== null)
        throw new ApiError(
          401,
          'node_key_revoked',
          `node key ${found.key.id} was revoked at ${new Date(found.key.revokedAt).toISOString()}: this node may not call the API`,
        );
      caller = { kind: 'key', key: found.key, signingKey: found.key.secretHash };
    } else {
      // Digests compared, so the time taken does not tell how much of the token matched.
      if (!sameDigest(await sha256Hex(presented), await sha256Hex(config.WORKER_TOKEN)))
        throw unauthorized(
          'the worker credential is not valid: a node key (nk_...) or WORKER_TOKEN',
        );
      if (!config.ALLOW_SHARED_WORKER_TOKEN)
        throw new ApiError(
          401,
          'shared_token_disabled',
          'the shared WORKER_TOKEN is turned off (ALLOW_SHARED_WORKER_TOKEN=false): use a node key',
        );
      caller = { kind: 'shared', signingKey: config.WORKER_TOKEN };
    }
    c.set('node', caller);
    await next();
  };
}

const SIGNATURE_PROBLEMS: Record<VerifyFailure, [string, string]> = {
  missing: [SIGNATURE_HEADER, `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required`],
  malformed: [SIGNATURE_HEADER, `${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} is malformed`],
  stale: [TIMESTAMP_HEADER, "more than 5 minutes away from the API's clock"],
  mismatch: [SIGNATURE_HEADER, 'does not match the method, path, timestamp and body'],
};

/**
 * After the bounded body read: the request signature (src/core/signature.ts), required of a node
 * key and checked whenever sent with the shared token; then, for a node key, that the node id the
 * call acts as is one the key is bound to.
 */
export function nodeRequestChecks(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = c.get('node')!;
    const ts = c.req.header(TIMESTAMP_HEADER);
    const sig = c.req.header(SIGNATURE_HEADER);
    if (caller.kind === 'key' || ts !== undefined || sig !== undefined) {
      const url = new URL(c.req.url);
      const body = new Uint8Array(await c.req.arrayBuffer());
      const req = { method: c.req.method, path: url.pathname + url.search, body };
      const checked = await verifyRequest([caller.signingKey], req, ts, sig, Date.now());
      if (!checked.ok) {
        const [field, message] = SIGNATURE_PROBLEMS[checked.reason];
        throw new ApiError(401, 'bad_signature', `${field}: ${message}`, {
          reason: checked.reason,
          problems: [{ field, message }],
        });
      }
    }
    if (caller.kind === 'key') {
      const acting = await actingAs(c);
      if (acting && !mayActAs(caller.key.binding, acting.id)) {
        const message = `node key ${caller.key.id} is for ${describeBinding(caller.key.binding)}, not ${acting.id}`;
        throw new ApiError(403, 'node_id_refused', `${acting.field}: ${message}`, {
          in: acting.in,
          problems: [{ field: acting.field, message }],
        });
      }
    }
    await next();
  };
}

/**
 * The node id a call acts as: the path's for heartbeat, lease and deregister, the body's `id` for a
 * registration, `worker_id` for a result or progress report. null when there is none to read (a body
 * that is not JSON, a field of the wrong type): validation refuses those after this.
 */
async function actingAs(
  c: Context<AppEnv>,
): Promise<{ id: string; field: string; in: 'path' | 'body' } | null> {
  const path = new URL(c.req.url).pathname;
  const post = c.req.method === 'POST';
  const field =
    post && path === '/workers/register'
      ? 'id'
      : post && /^\/jobs\/[^/]+\/(result|progress)$/.test(path)
        ? 'worker_id'
        : null;
  if (!field) {
    // Heartbeat, lease, results, deregister (a node may be called `register`: DELETE /workers/register).
    const inPath = /^\/workers\/([^/]+)(?:\/heartbeat|\/lease|\/results)?$/.exec(path);
    if (!inPath) return null;
    try {
      return { id: decodeURIComponent(inPath[1]), field: 'id', in: 'path' };
    } catch {
      return null;
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return null;
  }
  const id = (body as Record<string, unknown> | null)?.[field];
  return typeof id === 'string' ? { id, field, in: 'body' } : null;
}

/**
 * A worker-protocol route's middleware: the credential first, then the bounded body read and the
 * JSON checks that app.ts runs for every other route before its handler (body-limits.ts), then the
 * signature and the node's identity, which need the body.
 */
export function workerProtocol(): MiddlewareHandler<AppEnv>[] {
  return [workerAuth(), readBodyWithin(), jsonText(), nodeRequestChecks()];
}
