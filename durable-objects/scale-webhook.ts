/**
 * Announces a new autoscaling recommendation: one `event=scale_up|scale_down|hold` log line and, when
 * SCALE_WEBHOOK_URL is set, a POST signed like a dispatch (X-Cloud-Timestamp, X-Cloud-Signature over
 * `${timestamp}.${body}`, key SCALE_WEBHOOK_SECRET or else WORKER_TOKEN). A receiver that is down is
 * retried a few times with backoff; the next change is announced regardless.
 */
import type { Recommendation } from '../src/core/autoscale';
import { sign } from '../src/core/signature';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../src/protocol/dispatch';
import { log } from '../src/log';

export interface WebhookConfig {
  SCALE_WEBHOOK_URL?: string;
  SCALE_WEBHOOK_SECRET?: string;
  WORKER_TOKEN: string;
}

export const WEBHOOK_ATTEMPTS = 3;
const TIMEOUT_MS = 5000;

export interface ScaleEvent extends Recommendation {
  queue: string;
}

export async function announce(
  queue: string,
  rec: Recommendation,
  config: WebhookConfig,
  fetchImpl: typeof fetch = fetch,
  sleep = defaultSleep,
): Promise<boolean> {
  log({
    event: rec.action,
    queue,
    reason: rec.reason,
    current_workers: rec.current_workers,
    desired_workers: rec.desired_workers,
    queue_depth: rec.queue_depth,
    trend_per_min: rec.trend_per_min,
  });
  const url = config.SCALE_WEBHOOK_URL;
  if (!url) return false;
  const event: ScaleEvent = { queue, ...rec };
  const body = JSON.stringify(event);
  const secret = config.SCALE_WEBHOOK_SECRET ?? config.WORKER_TOKEN;
  for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
    try {
      const ts = Date.now();
      const res = await fetchImpl(url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: await sign(secret, ts, body),
        },
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        log({
          event: 'scale_webhook_sent',
          queue,
          action: rec.action,
          status: res.status,
          attempt,
        });
        return true;
      }
      log({
        event: 'scale_webhook_failed',
        queue,
        action: rec.action,
        status: res.status,
        attempt,
      });
      if (res.status >= 400 && res.status < 500 && res.status !== 429) return false;
    } catch (e) {
      log({
        event: 'scale_webhook_failed',
        queue,
        action: rec.action,
        error: String(e).slice(0, 200),
        attempt,
      });
    }
    if (attempt < WEBHOOK_ATTEMPTS) await sleep(1000 * 2 ** (attempt - 1));
  }
  return false;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
