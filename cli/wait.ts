/**
 * `submit --wait`: poll GET /jobs/:id until the job is terminal, drawing its progress on stderr.
 *
 * On a terminal the progress is one line redrawn in place (the trail of states with the moment each
 * was reached, a bar when the job reports progress, the time so far); into a pipe or a file it is
 * one line per change, so a CI log shows the story without a line per poll.
 */
import type { Job, JobStatus } from '../src/protocol/job';
import type { Ctx } from './context';
import { EXIT, JobEnded, Unreachable, ApiFailure, exitCodeForStatus } from './exit-codes';
import { formatDuration, truncate } from './format';
import { TERMINAL_STATUSES } from './options';

export const POLL_MIN_MS = 200;
export const POLL_MAX_MS = 2000;
/** Consecutive transient failures (unreachable, 5xx, 429) a wait rides out before it gives up. */
export const MAX_POLL_FAILURES = 5;
const BAR_WIDTH = 20;
/** A job that retries many times would grow the redrawn line past the screen: keep the latest steps. */
const TRAIL_STEPS = 4;

/** `progress` is reported by running jobs once nodes support it; older APIs leave it out. */
export interface JobProgress {
  percent?: number | null;
  message?: string | null;
}
type JobWithProgress = Job & { progress?: JobProgress | null };

export interface Step {
  status: JobStatus;
  attempt: number;
  /** Milliseconds since the wait began. */
  at: number;
}

export function progressBar(p: JobProgress): string {
  const pct =
    typeof p.percent === 'number' && Number.isFinite(p.percent)
      ? Math.min(100, Math.max(0, p.percent))
      : undefined;
  const parts: string[] = [];
  if (pct !== undefined) {
    const filled = Math.round((pct / 100) * BAR_WIDTH);
    parts.push(
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(pct)).padStart(3)}%`,
    );
  }
  if (p.message) parts.push(p.message);
  return parts.join(' ');
}

const stepLabel = (s: Step) =>
  `${s.status}${s.status === 'running' && s.attempt > 1 ? ` (attempt ${s.attempt})` : ''} ${formatDuration(s.at)}`;

/** The redrawn terminal line: `id  queued 12ms → running 400ms  [####----]  40% msg  (3.2s)`. */
export function renderTrail(
  id: string,
  steps: Step[],
  progress: JobProgress | null | undefined,
  elapsedMs: number,
): string {
  const last = steps[steps.length - 1];
  const bar = last?.status === 'running' && progress ? progressBar(progress) : '';
  const done = last !== undefined && TERMINAL_STATUSES.includes(last.status);
  const shown = steps.slice(-TRAIL_STEPS).map(stepLabel);
  if (steps.length > TRAIL_STEPS) shown.unshift('…');
  return [`${id}  ${shown.join(' → ')}`, bar, done ? '' : `(${formatDuration(elapsedMs)})`]
    .filter(Boolean)
    .join('  ');
}

/** One log line for the latest change: `id  running 400ms  [####----]  40% msg`. */
export function renderStep(
  id: string,
  step: Step,
  progress: JobProgress | null | undefined,
): string {
  const bar = step.status === 'running' && progress ? progressBar(progress) : '';
  return [`${id}  ${stepLabel(step)}`, bar].filter(Boolean).join('  ');
}

export class ProgressReporter {
  private steps: Step[] = [];
  private lastLogged = '';
  private drawn = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly id: string,
    private readonly startedAt: number,
  ) {}

  update(job: JobWithProgress): void {
    const at = this.ctx.io.now() - this.startedAt;
    const last = this.steps[this.steps.length - 1];
    if (!last || last.status !== job.status || last.attempt !== job.attempts)
      this.steps.push({ status: job.status, attempt: job.attempts, at });
    const progress = job.progress ?? null;
    if (this.ctx.io.errIsTTY) {
      // A line longer than the terminal wraps, and \r would then redraw only its last row.
      const line = truncate(
        renderTrail(this.id, this.steps, progress, at),
        (this.ctx.io.columns ?? 80) - 1,
      );
      this.ctx.io.err(`\r\x1b[K${line}`);
      this.drawn = true;
      return;
    }
    const line = renderStep(this.id, this.steps[this.steps.length - 1], progress);
    // The elapsed time changes on every poll; a new line is due only when the state or progress does.
    const key = `${job.status}:${job.attempts}:${progress ? progressBar(progress) : ''}`;
    if (key !== this.lastLogged) this.ctx.io.err(`${line}\n`);
    this.lastLogged = key;
  }

  finish(): void {
    if (this.drawn) this.ctx.io.err('\n');
    this.drawn = false;
  }
}

const transient = (err: unknown) =>
  err instanceof Unreachable ||
  (err instanceof ApiFailure && exitCodeForStatus(err.status) === EXIT.UNAVAILABLE);

/** Polls until the job is terminal; backs off while nothing changes, and rides out brief outages. */
export async function waitForJob(
  ctx: Ctx,
  id: string,
  opts: { timeoutMs?: number; onJob?: (job: Job) => void } = {},
): Promise<Job> {
  const start = ctx.io.now();
  let delay = POLL_MIN_MS;
  let failures = 0;
  let last: Job | undefined;
  for (;;) {
    let job: Job | undefined;
    try {
      job = (await ctx.client.call<{ job: Job }>('GET', `/jobs/${encodeURIComponent(id)}`)).job;
      failures = 0;
    } catch (err) {
      if (!transient(err) || ++failures > MAX_POLL_FAILURES) throw err;
    }
    if (job) {
      opts.onJob?.(job);
      if (TERMINAL_STATUSES.includes(job.status)) return job;
      const changed = !last || last.status !== job.status || last.attempts !== job.attempts;
      delay = changed ? POLL_MIN_MS : Math.min(POLL_MAX_MS, Math.round(delay * 1.5));
      last = job;
    }
    if (opts.timeoutMs !== undefined && ctx.io.now() - start >= opts.timeoutMs) {
      throw new JobEnded(
        `job ${id} is still ${last?.status ?? 'unknown'} after ${formatDuration(opts.timeoutMs)}; stopped waiting (the job goes on)`,
        EXIT.UNAVAILABLE,
      );
    }
    await ctx.io.sleep(delay);
  }
}
