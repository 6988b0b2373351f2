/**
 * Announces a new autoscaling recommendation: one `event=scale_up|scale_down|hold` log line and, when
 * SCALE_WEBHOOK_URL is set, a POST signed per Standard Webhooks like a callback
 * (src/core/standard-webhooks.ts), with SCALE_WEBHOOK_SECRET or else the callback keys. A receiver
 * that is down is retried a few times with backoff; the next change is announced regardless.
 */
import type { Recommendation } from '../src/core/autoscale';
import { webhookHeaders } from '../src/core/standard-webhooks';
import { log } from '../src/log';

export interface WebhookConfig {
  SCALE_WEBHOOK_URL?: string;
  SCALE_WEBHOOK_SECRET?: string;
  CALLBACK_SIGNING_KEY?: string;
  CALLBACK_SIGNING_KEY_NEXT?: string;
}

/** Its own key when set; else the callback keys, both during their rotation. */
function keysOf(config: WebhookConfig): string[] {
  if (config.SCALE_WEBHOOK_SECRET) return [config.SCALE_WEBHOOK_SECRET];
  return [config.CALLBACK_SIGNING_KEY, config.CALLBACK_SIGNING_KEY_NEXT].filter(
    (k): k is string => !!k,
  );
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
  const keys = keysOf(config);
  // Config refuses a webhook URL without a key; a hand-built config that has none sends nothing.
  if (keys.length === 0) return false;
  // One id per announcement, the same on each of its retries, so a receiver can deduplicate.
  const id = `msg_${crypto.randomUUID().replaceAll('-', '')}`;
  for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
    try {
      const res = await fetchImpl(url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          'content-type': 'application/json',
          ...(await webhookHeaders(keys, id, body, Date.now())),
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
