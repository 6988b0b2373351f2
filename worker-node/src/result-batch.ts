/**
 * Wire version 2 results: finished attempts wait here and travel together, one signed request for
 * several. A batch goes out the moment a result is ready and no report request is in flight, so at
 * low load nothing waits, and under load the results that finish during one request ride the next.
 * A pull node's lease request may carry them instead (`take`/`settle`/`giveBack`): while its lease
 * loop is about to ask for work (`carrierWaiting`), results are left for it.
 *
 * As with one report per job (reporter.ts), a result is retried until the API decides it: network
 * errors, 5xx and 429 put the batch back and back off; a verdict, a 404 (the node was reaped: every
 * lease it held is someone else's) or a refused batch ends it. A batch refused as malformed (4xx) is
 * split into single reports, so one bad result cannot hold back the others.
 */
import { ResultsAnswer, MAX_RESULTS_PER_REQUEST } from '../../src/protocol/results';
import type { ResultItemBody, ResultVerdict } from '../../src/protocol/results';
import type { Credits } from '../../src/protocol/credits';
import { describeAnswer, errorCode, type ApiClient } from './api-client';
import { backoffDelay, sleep } from './backoff';
import { errorMessage, type Logger } from './log';
import { clampReport, REPORT_BACKOFF, type ReportOutcome } from './reporter';

/** Under MAX_RESULTS_BODY_BYTES with room for the envelope; a larger single result goes alone. */
const BATCH_BYTES = 3 * 1024 * 1024;

interface Pending {
  item: ResultItemBody;
  bytes: number;
  signal: AbortSignal;
  resolve: (o: ReportOutcome) => void;
  /** Refused once inside a batch: sent on its own, so its own fault is its alone. */
  alone: boolean;
}

export type Batch = Pending[];

/** Wire version 3: the node's grants ride results requests, and the answers carry its next leases. */
export interface Exchange {
  /** The grants that changed, to carry; they count as sent from now. */
  credits(): Credits;
  /** A grant waits to go out: worth a request without results. */
  pending(): boolean;
  /** `ended`: the jobs whose results this answer settled (their leases end in a moment). */
  answered(carried: Credits, answer: ResultsAnswer, ended: string[]): void;
  /** The request that carried `carried` failed. */
  lost(carried: Credits): void;
}

export class ResultBatcher {
  private queue: Pending[] = [];
  private inFlight = false;
  private failures = 0;
  private readonly life = new AbortController();

  constructor(
    private readonly api: ApiClient,
    private readonly workerId: string,
    private readonly log: Logger,
    /** True while a pull node's next lease request will carry the results: leave them for it. */
    private readonly carrierWaiting: () => boolean = () => false,
    private readonly exchange: () => Exchange | null = () => null,
  ) {}

  /** Queues one result; resolves once the API decided it, or when `signal` aborts first. */
  report(item: ResultItemBody, signal: AbortSignal): Promise<ReportOutcome> {
    const body = clampReport(item);
    return new Promise((resolve) => {
      const p: Pending = {
        item: body,
        bytes: JSON.stringify(body).length,
        signal,
        resolve,
        alone: false,
      };
      signal.addEventListener('abort', () => this.abandon(p), { once: true });
      this.queue.push(p);
      this.kick();
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Sends what is queued unless a request is in flight (its end sends the rest) or a lease will carry it. */
  kick(): void {
    if (!this.inFlight && this.due() && !this.carrierWaiting() && !this.stopped) void this.flush();
  }

  /** Results to send, or (version 3) a grant that changed. */
  private due(): boolean {
    return this.queue.length > 0 || (this.exchange()?.pending() ?? false);
  }

  /** The next batch: in order, at most MAX_RESULTS_PER_REQUEST, within BATCH_BYTES (one always fits). */
  take(): Batch {
    const batch: Batch = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < MAX_RESULTS_PER_REQUEST) {
      const next = this.queue[0];
      if (batch.length > 0 && (next.alone || batch[0].alone || bytes + next.bytes > BATCH_BYTES))
        break;
      batch.push(this.queue.shift()!);
      bytes += next.bytes;
    }
    return batch;
  }

  /** The API's verdicts on a batch, in order. */
  settle(batch: Batch, verdicts: ResultVerdict[] | undefined, via: 'results' | 'lease'): void {
    batch.forEach((p, i) => {
      const v = verdicts?.[i];
      const fields = { job_id: p.item.job_id, attempt: p.item.attempt };
      if (v?.verdict === 'accepted') {
        this.log.info('result_reported', {
          ...fields,
          exit_code: p.item.exit_code,
          batch: batch.length,
          via,
        });
        p.resolve('reported');
      } else {
        this.log.warn('result_refused', {
          ...fields,
          code: v?.code ?? 'no_verdict',
          detail: v?.message,
        });
        p.resolve('refused');
      }
    });
  }

  /** A batch whose request failed goes back to the front, to be sent again (split, when `alone`). */
  giveBack(batch: Batch, alone = false): void {
    const live = batch.filter((p) => !p.signal.aborted);
    for (const p of live) p.alone ||= alone;
    this.queue.unshift(...live);
    this.kick();
  }

  /** Shutdown: stop sending; whatever is still queued is abandoned. */
  stop(): void {
    this.life.abort('stopped');
    for (const p of this.queue.splice(0)) p.resolve('abandoned');
  }

  private get stopped(): boolean {
    return this.life.signal.aborted;
  }

  private abandon(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return; // in flight: its verdict settles it
    this.queue.splice(i, 1);
    this.log.info('result_abandoned', { job_id: p.item.job_id, reason: String(p.signal.reason) });
    p.resolve('abandoned');
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.due() && !this.stopped) {
        const batch = this.take();
        const wait = await this.send(batch);
        if (wait > 0) await sleep(wait, this.life.signal);
      }
    } finally {
      this.inFlight = false;
    }
  }

  /** One request; the backoff to wait before the next (0 when the API decided). */
  private async send(batch: Batch): Promise<number> {
    const path = `/workers/${encodeURIComponent(this.workerId)}/results`;
    let wait = backoffDelay(this.failures, REPORT_BACKOFF);
    const exchange = this.exchange();
    const credits = exchange?.credits();
    let answered = false;
    try {
      const answer = await this.api.call(
        'POST',
        path,
        { results: batch.map((p) => p.item), ...(credits ? { credits } : {}) },
        this.life.signal,
      );
      if (answer.status === 200) {
        const parsed = ResultsAnswer.safeParse(answer.body);
        this.failures = 0;
        this.settle(batch, parsed.success ? parsed.data.results : undefined, 'results');
        if (exchange && credits && parsed.success) {
          answered = true;
          exchange.answered(
            credits,
            parsed.data,
            batch.map((p) => p.item.job_id),
          );
        }
        return 0;
      }
      if (answer.status === 404) {
        this.log.warn('results_refused', {
          status: 404,
          code: errorCode(answer.body),
          n: batch.length,
        });
        this.settle(batch, undefined, 'results');
        return 0;
      }
      if (
        answer.status >= 400 &&
        answer.status < 500 &&
        answer.status !== 429 &&
        answer.status !== 408
      ) {
        if (batch.length === 0) {
          // Only grants, refused: the next heartbeat carries them all again.
          this.log.warn('credits_refused', {
            status: answer.status,
            detail: describeAnswer(answer),
          });
          return wait;
        }
        if (batch.length > 1) {
          this.log.warn('results_split', { detail: describeAnswer(answer), n: batch.length });
          this.giveBack(batch, true);
          return 0;
        }
        this.log.error('result_rejected', {
          job_id: batch[0].item.job_id,
          attempt: batch[0].item.attempt,
          status: answer.status,
          detail: describeAnswer(answer),
        });
        batch[0].resolve('rejected');
        return 0;
      }
      if (answer.retryAfterMs !== undefined) wait = Math.max(wait, answer.retryAfterMs);
      this.log.warn('results_retry', {
        status: answer.status,
        detail: describeAnswer(answer),
        retry_in_ms: wait,
      });
    } catch (err) {
      if (!this.stopped)
        this.log.warn('results_retry', { error: errorMessage(err), retry_in_ms: wait });
    } finally {
      if (exchange && credits && !answered) exchange.lost(credits);
    }
    this.failures++;
    this.giveBack(batch);
    return wait;
  }
}
