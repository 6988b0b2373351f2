/**
 * Collects a child's output up to a byte limit and says how much it dropped. A job that prints
 * gigabytes must not take the node's memory with it, and the API refuses reports over 1 MiB anyway.
 */

export const MAX_OUTPUT_BYTES = 1024 * 1024;

export class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly limit = MAX_OUTPUT_BYTES) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(0, room));
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** UTF-8 text; a multi-byte character cut at the limit becomes U+FFFD rather than breaking JSON. */
  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${body}\n…[truncated ${this.dropped} bytes]` : body;
  }
}
