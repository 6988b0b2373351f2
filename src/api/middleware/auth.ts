import type { Context, MiddlewareHandler } from 'hono';
import { parseApiKey, sameDigest, sha256Hex } from '../../core/api-key';
import { dbOf } from '../../db/client';
import { findApiKey } from '../../db/api-keys';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';

/**
 * Who may call what. Probes, the API document, the dashboard and the API reference are public (their
 * pages call the API with the key the user gives them); the worker protocol has its own token
 * (worker-auth.ts); `/admin/*` needs ADMIN_TOKEN; everything else needs an API key (its tenant
 * scopes every read and write) or the admin token (all tenants). Without a key a request
 * is the `default` tenant only when ALLOW_ANONYMOUS=true, which `.dev.vars` sets for the quick start.
 */
const PUBLIC: [string, RegExp][] = [
  ['GET', /^\/(health|ready|openapi\.json|favicon\.ico)$/],
  ['GET', /^\/(dashboard|docs)(\/.*)?$/],
];
const WORKER_PROTOCOL: [string, RegExp][] = [
  ['POST', /^\/workers\/register$/],
  ['POST', /^\/workers\/[^/]+\/heartbeat$/],
  ['POST', /^\/workers\/[^/]+\/lease$/],
  ['POST', /^\/workers\/[^/]+\/results$/],
  ['DELETE', /^\/workers\/[^/]+$/],
  ['POST', /^\/jobs\/[^/]+\/result$/],
  ['POST', /^\/jobs\/[^/]+\/progress$/],
];
const ADMIN_ONLY = /^\/admin(\/|$)/;
const TENANT_HEADER = /^[A-Za-z0-9_.-]{1,64}$/;

const matches = (table: [string, RegExp][], method: string, path: string) =>
  table.some(([m, re]) => m === method && re.test(path));

/**
 * A call of the worker protocol: its token is checked by its routes (workerAuth), so the bounded
 * body read and the JSON checks run there, after the token, rather than in app.ts before it.
 */
export function isWorkerProtocol(c: Context): boolean {
  return matches(WORKER_PROTOCOL, c.req.method, new URL(c.req.url).pathname);
}

export function clientAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (matches(PUBLIC, method, path) || matches(WORKER_PROTOCOL, method, path)) return next();

    const config = c.get('config');
    const presented = credential(c.req.header('authorization'), c.req.header('x-api-key'));
    if (
      presented &&
      config.ADMIN_TOKEN &&
      sameDigest(await sha256Hex(presented), await sha256Hex(config.ADMIN_TOKEN))
    ) {
      const asTenant = c.req.header('x-tenant');
      if (asTenant !== undefined && !TENANT_HEADER.test(asTenant)) {
        throw new ApiError(
          400,
          'validation_failed',
          'X-Tenant: 1 to 64 letters, digits, ".", "_" or "-"',
          { problems: [{ field: 'X-Tenant', message: 'invalid tenant name' }] },
        );
      }
      c.set('admin', true);
      c.set('tenant', asTenant ?? 'default');
      return next();
    }
    if (ADMIN_ONLY.test(path)) {
      throw new ApiError(
        config.ADMIN_TOKEN ? 401 : 503,
        config.ADMIN_TOKEN ? 'unauthorized' : 'admin_disabled',
        config.ADMIN_TOKEN ? 'the admin token is required' : 'ADMIN_TOKEN is not configured',
      );
    }
    if (presented) {
      const parsed = parseApiKey(presented);
      const row = parsed ? await findApiKey(dbOf(c.env.DB), parsed.id) : undefined;
      if (
        !parsed ||
        !row ||
        row.revokedAt !== null ||
        !sameDigest(await sha256Hex(parsed.secret), row.secretHash)
      ) {
        throw new ApiError(
          401,
          'unauthorized',
          'the API key is not valid (unknown, revoked or malformed)',
        );
      }
      c.set('admin', false);
      c.set('tenant', row.tenant);
      c.set('apiKeyId', row.id);
      return next();
    }
    if (!config.ALLOW_ANONYMOUS)
      throw new ApiError(
        401,
        'unauthorized',
        'an API key is required: Authorization: Bearer <key> or X-API-Key',
      );
    c.set('admin', false);
    c.set('tenant', 'default');
    return next();
  };
}

function credential(authorization: string | undefined, apiKey: string | undefined): string | null {
  if (apiKey) return apiKey.trim();
  const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return m ? m[1] : null;
}
