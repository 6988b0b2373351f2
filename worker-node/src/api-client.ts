/**
 * The node's calls to the API. Every call carries the node's credential (its node key, or the shared
 * token) as a Bearer token, is signed over its method, path, time and body (src/core/signature.ts),
 * and has its own deadline, so a hung API never holds a heartbeat or a result report forever. Answers
 * are handed back raw (status + parsed JSON); each caller decides what a status means for it.
 */
import { signRequest } from '../../src/core/signature';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/protocol/dispatch';

export interface ApiAnswer {
  status: number;
  body: unknown;
  retryAfterMs?: number;
}

export interface ApiClient {
  call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<ApiAnswer>;
}

export interface ApiCredential {
  /** Sent as `Authorization: Bearer`. */
  token: string;
  /** Keys the request signatures. */
  signingKey: string;
}

export function createApiClient(
  baseUrl: string,
  credential: ApiCredential,
  timeoutMs = 10_000,
): ApiClient {
  return {
    async call(method, path, body, signal) {
      const deadline = AbortSignal.timeout(timeoutMs);
      const text = body === undefined ? '' : JSON.stringify(body);
      const ts = Date.now();
      const res = await fetch(baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${credential.token}`,
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: await signRequest(
            credential.signingKey,
            { method, path, body: text },
            ts,
          ),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : text,
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        redirect: 'manual',
      });
      const answer = await res.text();
      let parsed: unknown = answer;
      try {
        parsed = answer ? JSON.parse(answer) : null;
      } catch {
        // not JSON (a proxy's HTML error page): keep the text for the log line
      }
      return {
        status: res.status,
        body: parsed,
        retryAfterMs: retryAfter(res.headers.get('retry-after')),
      };
    },
  };
}

/** The stable `error.code` of an API error body, when there is one. */
export function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A short description of an error answer for a log line (never the request, which has the token). */
export function describeAnswer(a: ApiAnswer): string {
  const err = (a.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (err && typeof err === 'object')
    return `${a.status} ${String(err.code)}: ${String(err.message ?? '').slice(0, 200)}`;
  return `${a.status} ${typeof a.body === 'string' ? a.body.slice(0, 200) : ''}`.trim();
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs, 300) * 1000;
  const when = Date.parse(header);
  return Number.isNaN(when) ? undefined : Math.min(Math.max(0, when - Date.now()), 300_000);
}
