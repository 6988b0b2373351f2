/**
 * The page's only way out: the Worker's own public API, same origin, with the API key this tab was
 * given (a deployment without ALLOW_ANONYMOUS needs one). The key stays in this tab only.
 */
const KEY_STORE = 'cloud.apiKey';

/** A non-2xx answer: the API's `{ error: { message } }`, or the status when there is none. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export function useKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers.authorization = `Bearer ${key}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, init);
  // An answer that is not JSON (a proxy's error page) still has a status to report.
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const error = (data as { error?: { message?: string } } | null)?.error;
    throw new ApiError(error?.message ?? `HTTP ${res.status}`, res.status, data);
  }
  return data as T;
}

/** The message of anything a failed call threw. */
export const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));
