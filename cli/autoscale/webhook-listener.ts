/**
 * `cloud autoscale --listen`: a small HTTP listener for the API's scale webhook
 * (durable-objects/scale-webhook.ts). Each POST is verified per Standard Webhooks with the official
 * `standardwebhooks` package and SCALE_WEBHOOK_SECRET (signature and the five-minute timestamp
 * window), deduplicated by `webhook-id` (the API retries a delivery under the same id), and handed
 * on as one queue's advice, dated by its `since`: the moment the API made that advice, which is what
 * decide.ts compares with this machine's last change (the delivery's own timestamp is the attempt's,
 * and a retry seconds later would make an advice that predates a change look newer than it). An
 * event older than the last one taken for its queue is dropped: retries can overtake each other.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Recommendation } from '../../src/core/autoscale';
import { fromEvent } from './advice';

const MAX_BODY_BYTES = 64 * 1024;
const SEEN_IDS = 1_000;

export interface WebhookListener {
  port: number;
  close(): Promise<void>;
}

export interface ListenerOptions {
  host: string;
  port: number;
  secret: string;
  /** `madeAt`: when the API made the advice (its `since`, ms). */
  onAdvice(queue: string, rec: Recommendation, madeAt: number): void;
  log(event: string, fields: Record<string, unknown>): void;
}

export async function listenForAdvice(o: ListenerOptions): Promise<WebhookListener> {
  const verifier = new Webhook(o.secret);
  const seen = new Set<string>();
  const latest = new Map<string, number>();

  const server = createServer((req, res) => {
    const answer = (status: number, code?: string, message?: string) => {
      if (code) o.log('webhook_refused', { status, code, message });
      res.writeHead(status, code ? { 'content-type': 'application/json' } : {});
      res.end(code ? JSON.stringify({ error: { code, message } }) : undefined);
    };
    if (req.method !== 'POST') return answer(405, 'method_not_allowed', 'POST the scale events');
    readBody(req).then(
      (body) => {
        if (body === null) return answer(413, 'payload_too_large', `over ${MAX_BODY_BYTES} bytes`);
        const headers = {
          'webhook-id': header(req, 'webhook-id'),
          'webhook-timestamp': header(req, 'webhook-timestamp'),
          'webhook-signature': header(req, 'webhook-signature'),
        };
        let payload: unknown;
        try {
          payload = verifier.verify(body, headers);
        } catch (err) {
          return answer(401, 'bad_signature', (err as Error).message);
        }
        const event = fromEvent(payload);
        if (!event) return answer(400, 'bad_event', 'not a scale event: queue or advice missing');
        const id = headers['webhook-id'];
        const madeAt = event.rec.since;
        if (seen.has(id) || madeAt < (latest.get(event.queue) ?? -Infinity)) return answer(204);
        seen.add(id);
        if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value!);
        latest.set(event.queue, madeAt);
        o.onAdvice(event.queue, event.rec, madeAt);
        answer(204);
      },
      () => answer(400, 'bad_request', 'the body could not be read'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(' ') : (v ?? '');
}

/** The body as text, or null past the limit. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
