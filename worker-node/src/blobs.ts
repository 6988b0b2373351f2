/**
 * Large payloads and outputs (docs/protocol.md section 2.7). A dispatch of a blob job carries a
 * signed `payload_url` instead of the payload: the node fetches it, bounded, and runs the job as if
 * the payload had been inline. Every dispatch carries a signed `result_upload_url`: when a job's
 * stdout outgrows what the scheduler keeps inline, the node uploads all of it there (from a spool
 * file, not from memory) and reports its size and SHA-256 as `output_blob`.
 *
 * Both URLs are paths on the API, resolved against the node's API_URL.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, openAsBlob, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INLINE_OUTPUT_BYTES, MAX_BLOB_BYTES, type OutputBlob } from '../../src/protocol/blobs';
import { sleep } from './backoff';
import type { Logger } from './log';

export class BlobFetchError extends Error {}

/**
 * The payload behind `path`: its bytes as UTF-8 text, parsed as JSON when they are JSON (as the CLI
 * reads a payload argument), else the text itself. Refuses more than `maxBytes`.
 */
export async function fetchPayload(
  apiUrl: string,
  path: string,
  signal: AbortSignal,
  maxBytes = MAX_BLOB_BYTES,
): Promise<unknown> {
  const res = await fetch(new URL(path, apiUrl), { signal, redirect: 'error' });
  if (!res.ok || !res.body) {
    const text = (await res.text().catch(() => '')).slice(0, 300);
    throw new BlobFetchError(
      `GET ${new URL(path, apiUrl).pathname} answered ${res.status}${text ? `: ${text}` : ''}`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    size += chunk.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BlobFetchError(`the payload is over ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return decodePayload(Buffer.concat(chunks, size));
}

export function decodePayload(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A job's whole stdout on disk, up to MAX_BLOB_BYTES, hashed as it arrives. The executors keep their
 * own bounded copy for the inline report; this one exists only to be uploaded when that copy is not
 * the whole story.
 */
export class OutputSpool {
  private file: WriteStream | null = null;
  private dir: string | null = null;
  private readonly hash: Hash = createHash('sha256');
  private kept = 0;
  private opening: Promise<void> | null = null;
  private readonly pending: Buffer[] = [];

  constructor(private readonly maxBytes = MAX_BLOB_BYTES) {}

  get size(): number {
    return this.kept;
  }

  /** Worth uploading: more than the scheduler keeps inline. */
  get large(): boolean {
    return this.kept > INLINE_OUTPUT_BYTES;
  }

  push(chunk: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (room <= 0) return;
    const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    this.kept += part.byteLength;
    this.hash.update(part);
    if (this.file) this.file.write(part);
    else {
      // Small outputs never touch the disk: the file is opened once the output outgrows inline.
      this.pending.push(Buffer.from(part));
      if (this.large && !this.opening) this.opening = this.open();
    }
  }

  private async open(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'cloud-output-'));
    this.file = createWriteStream(join(this.dir, 'stdout'));
    for (const part of this.pending.splice(0)) this.file.write(part);
  }

  /** Finishes the file and uploads it to the signed `path`; retried a few times on network errors and 5xx. */
  async upload(apiUrl: string, path: string, signal: AbortSignal, tries = 4): Promise<OutputBlob> {
    if (this.opening) await this.opening;
    const file = this.file!;
    for (const part of this.pending.splice(0)) file.write(part);
    await new Promise<void>((resolve, reject) =>
      file.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const sha256 = this.hash.digest('hex');
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(new URL(path, apiUrl), {
          method: 'PUT',
          // A file-backed Blob: sent with its Content-Length, read from disk as it goes.
          body: await openAsBlob(file.path as string),
          headers: { 'content-type': 'application/octet-stream', 'x-content-sha256': sha256 },
          signal,
          redirect: 'error',
        });
        const text = await res.text();
        if (res.ok) return { size: this.kept, sha256 };
        if (res.status < 500 || attempt >= tries)
          throw new BlobFetchError(`PUT answered ${res.status}: ${text.slice(0, 300)}`);
      } catch (err) {
        if (err instanceof BlobFetchError || signal.aborted || attempt >= tries) throw err;
      }
      await sleep(250 * 2 ** attempt, signal);
    }
  }

  async dispose(): Promise<void> {
    this.file?.destroy();
    if (this.opening) await this.opening.catch(() => {});
    this.file?.destroy();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * After a run: uploads the spooled stdout when it outgrew inline, and says what to report. A failed
 * upload is logged and the result goes out inline (truncated) rather than not at all. Always
 * removes the spool file.
 */
export async function uploadLargeOutput(
  spool: OutputSpool | null,
  apiUrl: string | undefined,
  uploadPath: string | undefined,
  signal: AbortSignal,
  log: Logger,
  fields: Record<string, string | number>,
): Promise<OutputBlob | undefined> {
  if (!spool) return undefined;
  try {
    if (!spool.large || !uploadPath || !apiUrl || signal.aborted) return undefined;
    const blob = await spool.upload(apiUrl, uploadPath, signal);
    log.info('output_uploaded', { ...fields, size: blob.size });
    return blob;
  } catch (err) {
    log.warn('output_upload_failed', {
      ...fields,
      error: err instanceof Error ? err.message : String(err),
    });
    return undefined;
  } finally {
    await spool.dispose();
  }
}
