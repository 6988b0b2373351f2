/**
 * Registering with the API, and deregistering on the way out.
 *
 * A node may well start before the API (docker compose, `npm start`), so an unreachable API, a 5xx
 * or a 429 is waited out with capped backoff. Any other 4xx means the node itself is wrong (a bad
 * token, a refused URL): retrying cannot fix that, so it is fatal and main exits 1.
 */
import type { WorkerRegisterBody } from '../../src/protocol/worker';
import { describeAnswer, type ApiClient } from './api-client';
import { backoffDelay, sleep, type BackoffOptions } from './backoff';
import { errorMessage, type Logger } from './log';

export class RegistrationRefused extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`the API refused registration: ${detail}`);
  }
}

export const REGISTER_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 10_000 };

/** Registers, retrying until the API answers; returns the heartbeat interval the API asks for. */
export async function register(
  api: ApiClient,
  body: WorkerRegisterBody,
  log: Logger,
  signal: AbortSignal,
  backoff = REGISTER_BACKOFF,
): Promise<{ heartbeatIntervalSec?: number; protocol: number }> {
  for (let tries = 0; !signal.aborted; tries++) {
    let wait = backoffDelay(tries, backoff);
    try {
      const answer = await api.call('POST', '/workers/register', body, signal);
      if (answer.status >= 200 && answer.status < 300) {
        const answered = answer.body as {
          heartbeat_interval_sec?: unknown;
          protocol?: unknown;
        } | null;
        const interval = answered?.heartbeat_interval_sec;
        // An API that does not say speaks version 1: one request per result.
        const protocol = typeof answered?.protocol === 'number' ? answered.protocol : 1;
        log.info('worker_registered', {
          mode: body.mode ?? 'push',
          url: body.url,
          capacity: body.capacity,
          executors: body.executors,
          queues: body.queues,
          types: body.types,
          heartbeat_interval_sec: interval,
          protocol,
        });
        return {
          heartbeatIntervalSec: typeof interval === 'number' && interval > 0 ? interval : undefined,
          protocol,
        };
      }
      if (
        answer.status >= 400 &&
        answer.status < 500 &&
        answer.status !== 429 &&
        answer.status !== 408
      ) {
        // An API from before wire version 2 refuses the field it does not know: speak version 1.
        if (
          answer.status === 400 &&
          body.protocol !== undefined &&
          names(answer.body, 'protocol')
        ) {
          log.info('register_downgrade', { protocol: 1, detail: describeAnswer(answer) });
          body = { ...body, protocol: undefined };
          continue;
        }
        throw new RegistrationRefused(answer.status, describeAnswer(answer));
      }
      if (answer.retryAfterMs !== undefined) wait = Math.max(wait, answer.retryAfterMs);
      log.warn('register_retry', {
        status: answer.status,
        detail: describeAnswer(answer),
        retry_in_ms: wait,
        tries: tries + 1,
      });
    } catch (err) {
      if (err instanceof RegistrationRefused) throw err;
      if (signal.aborted) break;
      // Quiet for the first few: an API that is still booting is normal, not an alarm.
      (tries < 3 ? log.debug : log.warn)('register_retry', {
        error: errorMessage(err),
        retry_in_ms: wait,
        tries: tries + 1,
      });
    }
    await sleep(wait, signal);
  }
  throw new Error('registration aborted');
}

/** Whether an error answer's field problems name `field`. */
function names(body: unknown, field: string): boolean {
  const problems = (body as { error?: { details?: { problems?: { field?: unknown }[] } } } | null)
    ?.error?.details?.problems;
  return Array.isArray(problems) && problems.some((p) => p.field === field);
}

/** Best effort within `deadlineMs`: a node that cannot deregister is reaped by heartbeat timeout anyway. */
export async function deregister(
  api: ApiClient,
  workerId: string,
  log: Logger,
  deadlineMs = 5_000,
): Promise<boolean> {
  const deadline = AbortSignal.timeout(deadlineMs);
  for (let tries = 0; !deadline.aborted; tries++) {
    try {
      const answer = await api.call(
        'DELETE',
        `/workers/${encodeURIComponent(workerId)}`,
        undefined,
        deadline,
      );
      if ((answer.status >= 200 && answer.status < 300) || answer.status === 404) {
        const requeued = (answer.body as { requeued?: unknown } | null)?.requeued;
        log.info('worker_deregistered', { status: answer.status, requeued });
        return true;
      }
      if (answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
        log.error('deregister_refused', { detail: describeAnswer(answer) });
        return false;
      }
    } catch (err) {
      if (deadline.aborted) break;
      log.warn('deregister_retry', { error: errorMessage(err) });
    }
    await sleep(backoffDelay(tries, { baseMs: 200, capMs: 1_000 }), deadline);
  }
  log.warn('deregister_failed', {
    reason: 'deadline passed; the API will reap this node by heartbeat timeout',
  });
  return false;
}
