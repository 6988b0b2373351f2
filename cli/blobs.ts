/**
 * `submit --payload-file` with a payload over the inline limit: the payload goes up first with
 * PUT /blobs and the job names it as payload_blob (docs/protocol.md section 2.7). The node hands
 * the job the same JSON value it would have had inline.
 */
import { ApiFailure, Unreachable } from './exit-codes';
import type { ApiClient } from './http';

/** Serialised payloads above this go up as a blob (src/protocol/job.ts MAX_PAYLOAD_BYTES). */
export const INLINE_PAYLOAD_LIMIT = 64 * 1024;
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

export async function uploadBlob(
  client: ApiClient,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<{ id: string; size: number }> {
  const { config } = client;
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/octet-stream',
  };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  let res: Response;
  let text: string;
  try {
    res = await (config.fetch ?? fetch)(`${client.base}/blobs`, {
      method: 'PUT',
      headers,
      body: bytes,
      redirect: 'error',
      signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    throw new Unreachable(`cannot upload the payload to ${client.base}: ${(err as Error).message}`);
  }
  let parsed:
    | {
        blob?: { id: string; size: number };
        error?: { code?: string; message?: string; details?: unknown };
      }
    | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok || !parsed?.blob) {
    throw new ApiFailure(
      res.status,
      parsed?.error?.code ?? `http_${res.status}`,
      parsed?.error?.message ?? (res.statusText || 'no message'),
      parsed?.error?.details,
    );
  }
  return parsed.blob;
}
