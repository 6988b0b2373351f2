// Bounded capture of a stream: keeps the first `limit` bytes and remembers that more arrived.
import { MAX_OUTPUT_BYTES, TRUNCATED_MARKER } from './limits';
import type { ExecResult, ExecutorName } from './types';

/** Builds an executor's result: a success with empty output unless `fields` say otherwise, timed from `started`. */
export function resultSince(
  executor: ExecutorName,
  started: number,
): (fields: Partial<ExecResult>) => ExecResult {
  return (fields) => ({
    executor,
    exit_code: 0,
    stdout: '',
    stderr: '',
    duration_ms: Math.round((performance.now() - started) * 100) / 100,
    timed_out: false,
    cancelled: false,
    ...fields,
  });
}

export class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(private readonly limit = MAX_OUTPUT_BYTES) {}

  push(chunk: Uint8Array): void {
    const room = this.limit - this.size;
    if (chunk.byteLength > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(Buffer.from(kept));
    this.size += kept.byteLength;
  }

  text(): string {
    return captured(Buffer.concat(this.chunks, this.size), this.truncated);
  }
}

// Bytes kept from a stream as text: UTF-8 (a character cut at the limit becomes U+FFFD), plus the
// marker when anything was dropped.
export function captured(bytes: Uint8Array, truncated: boolean): string {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return truncated ? body + TRUNCATED_MARKER : body;
}
