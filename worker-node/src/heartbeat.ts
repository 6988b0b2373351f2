/**
 * The heartbeat loop: `POST /workers/:id/heartbeat` with the leases held, every interval.
 *
 * The heartbeat is how the node stays alive in the registry and how the scheduler speaks back to it
 * between dispatches: the answer can ask it to drain and name leases it must kill. A 404 means the
 * node was reaped (it missed heartbeats, say after a SIGSTOP): its leases are void and it must
 * register again. A 401 or 403 means the API refuses this node's credential for good (its node key
 * was revoked, say): the node stops. Beats never overlap; `beatNow` sends one at once (a node that
 * starts draining says so right away rather than at the next tick).
 */
import { HeartbeatAnswer, type WorkerHeartbeat } from '../../src/protocol/worker';
import { describeAnswer, errorCode, type ApiClient } from './api-client';
import { errorMessage, type Logger } from './log';

export interface HeartbeatHooks {
  body(): WorkerHeartbeat;
  onAnswer(answer: HeartbeatAnswer): void;
  /** The API does not know this node any more; resolves once it is registered again. */
  onUnknown(): Promise<void>;
  /** The API refuses this node's credential (401, 403): no beat can succeed again. */
  onRefused(status: number, detail: string): void;
}

export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = true;
  private failing = false;
  private lastSummary = '';
  /** The API predates the `queues` field and refused it: beats go without it from then on. */
  private withoutQueues = false;

  constructor(
    private readonly api: ApiClient,
    private readonly workerId: string,
    private readonly log: Logger,
    private readonly hooks: HeartbeatHooks,
    private intervalMs: number,
  ) {}

  get interval(): number {
    return this.intervalMs;
  }

  setInterval(ms: number): void {
    this.intervalMs = Math.max(100, ms);
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Sends a beat now (after any beat in flight) and resets the tick. */
  beatNow(): Promise<void> {
    clearTimeout(this.timer);
    this.chain = this.chain.then(() => this.beat()).finally(() => this.schedule());
    return this.chain;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beatNow(), this.intervalMs);
  }

  private async beat(): Promise<void> {
    const full = this.hooks.body();
    const body = this.withoutQueues ? { ...full, queues: undefined } : full;
    try {
      const answer = await this.api.call(
        'POST',
        `/workers/${encodeURIComponent(this.workerId)}/heartbeat`,
        body,
      );
      // A node upgraded before its API: without this, every beat would be refused and the node reaped.
      if (answer.status === 400 && body.queues && namesField(answer.body, 'queues')) {
        this.withoutQueues = true;
        this.log.warn('heartbeat_queues_refused', { detail: describeAnswer(answer) });
        return this.beat();
      }
      if (answer.status === 404) {
        this.log.warn('worker_unknown', {
          code: errorCode(answer.body),
          running: body.running.length,
        });
        await this.hooks.onUnknown();
        return;
      }
      if (answer.status === 401 || answer.status === 403) {
        this.stop();
        this.hooks.onRefused(answer.status, describeAnswer(answer));
        return;
      }
      if (answer.status < 200 || answer.status >= 300) {
        this.noteFailure(describeAnswer(answer));
        return;
      }
      const parsed = HeartbeatAnswer.safeParse(answer.body);
      if (!parsed.success) {
        this.noteFailure(`unexpected answer: ${parsed.error.issues[0]?.message}`);
        return;
      }
      if (this.failing) this.log.info('heartbeat_recovered');
      this.failing = false;
      // One line per change of state is enough; every beat goes out at debug level.
      const summary = `${body.running.length}|${body.draining}|${parsed.data.status}|${parsed.data.drain}`;
      (summary === this.lastSummary && parsed.data.kill.length === 0
        ? this.log.debug
        : this.log.info)('worker_heartbeat', {
        running: body.running.length,
        draining: body.draining,
        status: parsed.data.status,
        drain: parsed.data.drain,
        kill: parsed.data.kill.length,
      });
      this.lastSummary = summary;
      this.hooks.onAnswer(parsed.data);
    } catch (err) {
      this.noteFailure(errorMessage(err));
    }
  }

  private noteFailure(detail: string): void {
    (this.failing ? this.log.debug : this.log.warn)('heartbeat_failed', { detail });
    this.failing = true;
  }
}

function namesField(body: unknown, field: string): boolean {
  const problems = (body as { error?: { details?: { problems?: unknown } } } | null)?.error?.details
    ?.problems;
  return Array.isArray(problems) && problems.some((p: { field?: unknown }) => p?.field === field);
}
