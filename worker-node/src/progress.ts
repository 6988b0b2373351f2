/**
 * Progress and log lines of a running attempt, from the runner's stderr to `POST /jobs/:id/progress`.
 *
 * A stderr line `{"progress": <0-100>, "message": "..."}` is progress; a final `{"error": ...}` line is
 * the runner's error and stays in the result; any other line is a log line. Lines are sent at most
 * every FLUSH_MS (and once more before the result), so a chatty job costs a few requests a second.
 * A 409 means the attempt lost its lease: the stream stops sending.
 */
import type { DispatchedJob, ProgressReport } from '../../src/protocol/dispatch';
import type { ApiClient } from './api-client';
import { errorMessage, type Logger } from './log';

const FLUSH_MS = 500;
const MAX_LINE = 2048;
const MAX_LINES_PER_REPORT = 100;

export class ProgressStream {
  private partial = '';
  private lines: string[] = [];
  private progress: { percent?: number; message?: string } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sending: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly api: ApiClient,
    private readonly log: Logger,
    private readonly workerId: string,
    private readonly job: DispatchedJob,
  ) {}

  push(chunk: string): void {
    if (this.stopped) return;
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.take(line);
    if (this.partial.length > MAX_LINE) {
      this.take(this.partial);
      this.partial = '';
    }
    if ((this.lines.length || this.progress) && !this.timer)
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Sends what is left; called before the result is reported so the logs come first. */
  async close(): Promise<void> {
    if (this.partial) this.take(this.partial);
    this.partial = '';
    await this.flush();
    this.stopped = true;
  }

  private take(raw: string): void {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    if (line.startsWith('{')) {
      try {
        const parsed = JSON.parse(line) as {
          progress?: unknown;
          message?: unknown;
          error?: unknown;
        };
        if (typeof parsed.progress === 'number') {
          this.progress = {
            percent: Math.min(100, Math.max(0, parsed.progress)),
            ...(typeof parsed.message === 'string'
              ? { message: parsed.message.slice(0, 512) }
              : {}),
          };
          return;
        }
        if (parsed.error !== undefined) return;
      } catch {
        // not JSON after all: a log line
      }
    }
    this.lines.push(line.slice(0, MAX_LINE));
  }

  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sending = this.sending.then(async () => {
      while (!this.stopped && (this.lines.length || this.progress)) {
        const report: ProgressReport = {
          worker_id: this.workerId,
          attempt: this.job.attempt,
          token: this.job.token,
          ...(this.progress ?? {}),
          ...(this.lines.length ? { logs: this.lines.splice(0, MAX_LINES_PER_REPORT) } : {}),
        };
        this.progress = null;
        try {
          const answer = await this.api.call(
            'POST',
            `/jobs/${encodeURIComponent(this.job.job_id)}/progress`,
            report,
          );
          if (answer.status === 409 || answer.status === 404) this.stopped = true;
        } catch (err) {
          // Progress is best effort: the result is what must not be lost.
          this.log.warn('progress_failed', {
            job_id: this.job.job_id,
            attempt: this.job.attempt,
            error: errorMessage(err),
          });
          return;
        }
      }
    });
    return this.sending;
  }
}
