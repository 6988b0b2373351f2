import { signRequest } from '../src/core/signature';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../src/protocol/dispatch';

/**
 * Signed HTTP: the Scheduler's dispatches and cancels to worker nodes, a Courier's callbacks to one
 * receiver origin. One Durable Object invocation may have at most 6 outbound connections waiting for
 * response headers, so every request waits for one of 6 slots; several jobs for one node travel in
 * one request. Each object has its own 6, which is why callbacks leave from couriers.
 */
export class Outbound {
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly secret: () => string,
    private readonly timeoutMs: () => number,
    /** Hears each request sent (the object's cost meter). */
    private readonly sent: () => void = () => {},
    private readonly limit = 6,
  ) {}

  /**
   * `sign`: the headers that sign `body` (callbacks: Standard Webhooks); by default the request
   * signature (src/core/signature.ts) with `key`, the node's own, or else the worker token.
   */
  async post(
    baseUrl: string,
    path: string,
    payload: unknown,
    opts: {
      timeoutMs?: number;
      sign?: (body: string, nowMs: number) => Promise<Record<string, string>>;
      key?: string | null;
    } = {},
  ): Promise<Response> {
    await this.acquire();
    try {
      const body = JSON.stringify(payload);
      const ts = Date.now();
      const signed = opts.sign
        ? await opts.sign(body, ts)
        : {
            [TIMESTAMP_HEADER]: String(ts),
            [SIGNATURE_HEADER]: await signRequest(
              opts.key ?? this.secret(),
              { method: 'POST', path, body },
              ts,
            ),
          };
      this.sent();
      return await fetch(`${baseUrl.replace(/\/+$/, '')}${path}`, {
        method: 'POST',
        body,
        // Never follow a redirect: a node must not be able to bounce the scheduler to another host.
        redirect: 'manual',
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs()),
        headers: { 'content-type': 'application/json', ...signed },
      });
    } finally {
      this.release();
    }
  }

  private async acquire(): Promise<void> {
    if (this.inFlight < this.limit) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.inFlight--;
  }
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date), or null. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
