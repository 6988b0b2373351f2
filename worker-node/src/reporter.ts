/**
 * Delivers one job result to the API: `POST /jobs/:id/result`, retried until the API answers.
 *
 * The outcome of a job is the one thing a node must not lose, so network errors, 5xx and 429 are
 * retried with capped backoff for as long as the lease is ours. The retry stops when the API has
 * decided: 2xx (taken), 409 (a newer attempt owns the job: our lease was lost) or 404 (the job is
 * gone), or another 4xx (the report itself is wrong: retrying cannot fix it). It also stops when the
 * caller aborts, which is how a lease the scheduler revoked stops being reported.
 */
import type { ResultReport } from '../../src/protocol/dispatch';
import { describeAnswer, errorCode, type ApiClient } from './api-client';
import { backoffDelay, sleep, type BackoffOptions } from './backoff';
import { errorMessage, type Logger } from './log';

export type ReportOutcome = 'reported' | 'refused' | 'rejected' | 'abandoned';

// The schema's own bounds: a report over them would be refused outright, losing the whole result.
const MAX_OUTPUT_CHARS = 1024 * 1024;
const MAX_ERROR_CHARS = 4096;

export const REPORT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 15_000 };

export async function reportResult(
  api: ApiClient,
  log: Logger,
  jobId: string,
  report: ResultReport,
  signal: AbortSignal,
  backoff: BackoffOptions = REPORT_BACKOFF,
): Promise<ReportOutcome> {
  const body = clampReport(report);
  const fields = { job_id: jobId, attempt: report.attempt };
  for (let tries = 0; ; tries++) {
    if (signal.aborted) {
      log.info('result_abandoned', { ...fields, reason: String(signal.reason ?? 'aborted') });
      return 'abandoned';
    }
    let wait = backoffDelay(tries, backoff);
    try {
      const answer = await api.call(
        'POST',
        `/jobs/${encodeURIComponent(jobId)}/result`,
        body,
        signal,
      );
      if (answer.status >= 200 && answer.status < 300) {
        log.info('result_reported', { ...fields, exit_code: report.exit_code, tries: tries + 1 });
        return 'reported';
      }
      if (answer.status === 409 || answer.status === 404) {
        log.warn('result_refused', {
          ...fields,
          status: answer.status,
          code: errorCode(answer.body),
          detail: describeAnswer(answer),
        });
        return 'refused';
      }
      if (
        answer.status >= 400 &&
        answer.status < 500 &&
        answer.status !== 429 &&
        answer.status !== 408
      ) {
        log.error('result_rejected', {
          ...fields,
          status: answer.status,
          detail: describeAnswer(answer),
        });
        return 'rejected';
      }
      if (answer.retryAfterMs !== undefined) wait = Math.max(wait, answer.retryAfterMs);
      log.warn('result_retry', {
        ...fields,
        status: answer.status,
        detail: describeAnswer(answer),
        retry_in_ms: wait,
      });
    } catch (err) {
      if (signal.aborted) continue;
      log.warn('result_retry', { ...fields, error: errorMessage(err), retry_in_ms: wait });
    }
    await sleep(wait, signal);
  }
}

/** A report within the schema's bounds (for the batched route too: src/protocol/results.ts). */
export function clampReport<T extends { stdout: string; stderr: string; error?: string }>(
  report: T,
): T {
  return {
    ...report,
    stdout: clamp(report.stdout, MAX_OUTPUT_CHARS),
    stderr: clamp(report.stderr, MAX_OUTPUT_CHARS),
    ...(report.error === undefined ? {} : { error: clamp(report.error, MAX_ERROR_CHARS) }),
  };
}

function clamp(text: string, max: number): string {
  const marker = '\n…[truncated by the node]';
  return text.length <= max ? text : text.slice(0, max - marker.length) + marker;
}
