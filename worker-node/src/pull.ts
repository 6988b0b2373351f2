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
import type { Credits, Standing } from '../../src/protocol/credits';
import { describeAnswer, errorCode, type ApiClient } from './api-client';
import { backoffDelay, sleep, type BackoffOptions } from './backoff';
import { errorMessage, type Logger } from './log';
import type { ResultBatcher } from './result-batch';

export interface PullHooks {
  /** The most jobs to ask for now: free slots plus the prefetch not yet queued. */
  room(): number;
  /** Resolves once there is room again (or the signal aborts). */
  whenRoom(signal: AbortSignal): Promise<void>;
  /** Wire version 2 (the API said so at registration): results ride the lease requests. */
  results(): ResultBatcher | null;
  /** The scheduler asked the node to drain: ask for nothing until it says otherwise. */
  draining(): boolean;
  accept(jobs: DispatchedJob[]): void;
  /** The API does not know this node any more; resolves once it is registered again. */
  onUnknown(): Promise<void>;
  /** Wire version 3: all the node's grants, for the request (they count as sent). */
  credits?(): Credits | undefined;
  /** Wire version 3: the answer to a request that carried `carried`. */
  answered?(carried: Credits, standing: Standing | undefined, ended: string[]): void;
  /** Wire version 3: the request that carried `carried` failed. */
  lost?(carried: Credits): void;
}

export const LEASE_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 10_000 };
/** While drained by the scheduler, how often to look whether the drain was lifted (heartbeats tell). */
const DRAINED_RECHECK_MS = 500;

export class PullLoop {
  private life: AbortController | null = null;
  private loop: Promise<void> = Promise.resolve();
  /** Between two long polls, waiting for room: results that finish now ride the next request. */
  private waitingForRoom = false;

  constructor(
    /** A client whose deadline outlasts `waitSec`: the API holds each request that long. */
    private readonly api: ApiClient,
    private readonly workerId: string,
    private readonly log: Logger,
    private readonly hooks: PullHooks,
    private readonly waitSec: number,
    /** The queues the node registered for: the API asks only their schedulers. */
    private readonly queues: string[],
    /** Leases to hold beyond capacity (wire version 2): a slot that frees starts one at once. */
    private readonly prefetch = 0,
  ) {}

  /** For the result batcher: a result ready now is carried by the next lease request. */
  get carrying(): boolean {
    return this.waitingForRoom;
  }

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
    // Results left for a lease request that will not be sent go on their own.
    this.hooks.results()?.kick();
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
      const results = this.hooks.results();
      if (this.hooks.draining()) {
        results?.kick();
        await sleep(DRAINED_RECHECK_MS, signal);
        continue;
      }
      const room = this.hooks.room();
      if (room === 0) {
        this.waitingForRoom = results !== null;
        try {
          await this.hooks.whenRoom(signal);
          // The job that freed the slot hands its result over within this turn: carry it.
          await new Promise((resolve) => setImmediate(resolve));
        } finally {
          this.waitingForRoom = false;
        }
        continue;
      }
      const batch = results?.take() ?? [];
      const credits = this.hooks.credits?.();
      const body = {
        max_jobs: room,
        // With results, no wait: their verdicts (and the leases' end) must not sit out a long poll.
        wait_sec: batch.length > 0 ? 0 : this.waitSec,
        queues: this.queues,
        ...(results ? { prefetch: this.prefetch } : {}),
        ...(batch.length > 0 ? { results: batch.map((p) => p.item) } : {}),
        ...(credits ? { credits } : {}),
      };
      let answer;
      try {
        answer = await this.api.call('POST', path, body, signal);
      } catch (err) {
        if (credits) this.hooks.lost?.(credits);
        results?.giveBack(batch);
        if (signal.aborted) break;
        await backOff({ error: errorMessage(err) });
        continue;
      }
      if (answer.status === 200) {
        const parsed = LeaseAnswer.safeParse(answer.body);
        results?.settle(batch, parsed.data?.results, 'lease');
        if (!parsed.success) {
          if (credits) this.hooks.lost?.(credits);
          await backOff({ detail: `unexpected answer: ${parsed.error.issues[0]?.message}` });
          continue;
        }
        failures = 0;
        if (parsed.data.jobs.length > 0) this.hooks.accept(parsed.data.jobs);
        if (credits)
          this.hooks.answered?.(
            credits,
            parsed.data.standing,
            batch.map((p) => p.item.job_id),
          );
        continue;
      }
      if (credits) this.hooks.lost?.(credits);
      if (answer.status === 404) {
        // Reaped: every lease we held is someone else's now, so the results are moot.
        results?.settle(batch, undefined, 'lease');
        this.log.warn('worker_unknown', { code: errorCode(answer.body), via: 'lease' });
        await this.hooks.onUnknown();
        continue;
      }
      // The batcher sends them on its own (and splits a batch the API refused as malformed).
      results?.giveBack(batch, answer.status >= 400 && answer.status < 500);
      // 503 `draining` (our drain reached the scheduler before the heartbeat told us), 409 (the API
      // has this id as a push node), 5xx: nothing to do but wait and ask again.
      await backOff({ status: answer.status, detail: describeAnswer(answer) }, answer.retryAfterMs);
    }
  }
}
