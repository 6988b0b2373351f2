/**
 * The CLI's view of the API: plain fetch, JSON in and out, every failure turned into one of the
 * errors in exit-codes.ts. Plain fetch rather than the typed Hono client (src/client.ts) because
 * loading the app's route types costs nothing but loading zod at run time costs a CLI ~300 ms per
 * call; the wire types still come from src/protocol (type-only imports).
 */
import { ApiFailure, AuthMissing, Unreachable } from './exit-codes';

/** A request that has had no answer this long is given up (exit 3). */
export const REQUEST_TIMEOUT_MS = 30_000;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Which credential to send: the tenant's API key (default) or the admin token. */
  auth?: 'key' | 'admin';
}

export interface ClientConfig {
  apiUrl: string;
  apiKey?: string;
  adminToken?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** The request a call becomes: pure, so the argument → request mapping is testable without a server. */
export function buildRequest(
  config: ClientConfig,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Request {
  const url = new URL(config.apiUrl.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(opts.query ?? {}))
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  const credential = opts.auth === 'admin' ? config.adminToken : config.apiKey;
  if (opts.auth === 'admin' && !credential)
    throw new AuthMissing("set CLOUD_ADMIN_TOKEN to the API's ADMIN_TOKEN");
  if (credential) headers.authorization = `Bearer ${credential}`;
  if (opts.body === undefined) return { method, url: url.toString(), headers };
  headers['content-type'] = 'application/json';
  return { method, url: url.toString(), headers, body: JSON.stringify(opts.body) };
}

export class ApiClient {
  constructor(readonly config: ClientConfig) {}

  get base(): string {
    return this.config.apiUrl.replace(/\/+$/, '');
  }

  async call<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const req = buildRequest(this.config, method, path, opts);
    const doFetch = this.config.fetch ?? fetch;
    const timeoutMs = this.config.timeoutMs ?? REQUEST_TIMEOUT_MS;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(req.url, {
        method,
        headers: req.headers,
        body: req.body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw unreachable(this.base, err, timeoutMs);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (
        parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined
      )?.error;
      const code = typeof e?.code === 'string' ? e.code : `http_${res.status}`;
      const message = typeof e?.message === 'string' ? e.message : res.statusText || 'no message';
      throw new ApiFailure(res.status, code, message, e?.details);
    }
    if (parsed === undefined)
      throw new Unreachable(
        `${method} ${path}: ${res.status} answer is not JSON (is ${this.base} the cloud API?)`,
      );
    return parsed as T;
  }
}

function unreachable(base: string, err: unknown, timeoutMs: number): Unreachable {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return new Unreachable(`${base} did not answer within ${timeoutMs / 1000} s`);
  const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new Unreachable(`cannot reach the API at ${base}: ${why}`);
}
