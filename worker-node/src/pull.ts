/**
 * The lease loop of a pull node (WORKER_MODE=pull): a node nobody can connect to (behind NAT, a
 * laptop) asks for its work instead of being pushed it. One long poll at a time, `POST
 * /workers/:id/lease { max_jobs: free slots, wait_sec }`: the API answers as soon as the scheduler
 * assigns the node jobs, or with none when `wait_sec` passes, and the loop asks again.
 *
 * Leased jobs are the same objects, with the same fencing, as a push dispatch, and go through the
 * same runner and reporter. Everything else is shared with push nodes too: liveness and `kill` come
 * from the heartbeat, and a 404 means the node was reaped and must register again.
 */
import { LeaseAnswer } from '../../src/protocol/pull';
import type { DispatchedJob } from '../../src/protocol/dispatch';
import { describeAnswer, errorCode, type ApiClient } from './api-client';
import { backoffDelay, sleep, type BackoffOptions } from './backoff';
import { errorMessage, type Logger } from './log';

export interface PullHooks {
  /** Slots free right now: the most jobs to ask for. */
  free(): number;
  /** Resolves once a slot frees (or the signal aborts). */
  whenFree(signal: AbortSignal): Promise<void>;
  /** The scheduler asked the node to drain: ask for nothing until it says otherwise. */
  draining(): boolean;
  accept(jobs: DispatchedJob[]): void;
  /** The API does not know this node any more; resolves once it is registered again. */
  onUnknown(): Promise<void>;
}

export const LEASE_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 10_000 };
/** While drained by the scheduler, how often to look whether the drain was lifted (heartbeats tell). */
const DRAINED_RECHECK_MS = 500;

export class PullLoop {
  private life: AbortController | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    /** A client whose deadline outlasts `waitSec`: the API holds each request that long. */
    private readonly api: ApiClient,
    private readonly workerId: string,
    private readonly log: Logger,
    private readonly hooks: PullHooks,
    private readonly waitSec: number,
    /** The queues the node registered for: the API asks only their schedulers. */
    private readonly queues: string[],
  ) {}

  start(): void {
    this.life = new AbortController();
    this.loop = this.run(this.life.signal);
  }

  /**
   * Stops asking for work and aborts the long poll in flight. Jobs the scheduler assigned to that
   * poll in the last instant never reach us: the node's heartbeats do not list them, and its
   * deregistration hands them back, so they run elsewhere.
   */
  async stop(): Promise<void> {
    this.life?.abort('stopped');
    await this.loop;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const path = `/workers/${encodeURIComponent(this.workerId)}/lease`;
    let failures = 0;
    const backOff = async (detail: Record<string, unknown>, retryAfterMs?: number) => {
      const wait = Math.max(backoffDelay(failures++, LEASE_BACKOFF), retryAfterMs ?? 0);
      (failures > 3 ? this.log.warn : this.log.info)('lease_retry', {
        ...detail,
        retry_in_ms: wait,
      });
      await sleep(wait, signal);
    };
    while (!signal.aborted) {
      if (this.hooks.draining()) {
        await sleep(DRAINED_RECHECK_MS, signal);
        continue;
      }
      const free = this.hooks.free();
      if (free === 0) {
        await this.hooks.whenFree(signal);
        continue;
      }
      let answer;
      try {
        answer = await this.api.call(
          'POST',
          path,
          { max_jobs: free, wait_sec: this.waitSec, queues: this.queues },
          signal,
        );
      } catch (err) {
        if (signal.aborted) break;
        await backOff({ error: errorMessage(err) });
        continue;
      }
      if (answer.status === 200) {
        const parsed = LeaseAnswer.safeParse(answer.body);
        if (!parsed.success) {
          await backOff({ detail: `unexpected answer: ${parsed.error.issues[0]?.message}` });
          continue;
        }
        failures = 0;
        if (parsed.data.jobs.length > 0) this.hooks.accept(parsed.data.jobs);
        continue;
      }
      if (answer.status === 404) {
        this.log.warn('worker_unknown', { code: errorCode(answer.body), via: 'lease' });
        await this.hooks.onUnknown();
        continue;
      }
      // 503 `draining` (our drain reached the scheduler before the heartbeat told us), 409 (the API
      // has this id as a push node), 5xx: nothing to do but wait and ask again.
      await backOff({ status: answer.status, detail: describeAnswer(answer) }, answer.retryAfterMs);
    }
  }
}
