import { DurableObject } from 'cloudflare:workers';
import { take, type Bucket } from '../src/core/token-bucket';

export type RateDecision =
  { ok: true; remaining: number } | { ok: false; remaining: number; retryAfterSec: number };

/**
 * One token bucket per client (API key or address), one object per key (`idFromName(key)`). A
 * Durable Object rather than the platform's rate-limiting binding: the binding's limit and period
 * are fixed in wrangler.toml (10 or 60 s) and count one unit per call, while RATE_LIMIT_JOBS_PER_MIN
 * is a variable (0 turns it off) and a batch must cost one unit per job. The object is a single
 * writer, so concurrent submissions cannot both spend the last token.
 */
export class RateLimiter extends DurableObject {
  private bucket: Bucket | null | undefined;

  async take(cost: number, limitPerMin: number): Promise<RateDecision> {
    this.bucket ??= this.ctx.storage.kv.get<Bucket>('bucket') ?? null;
    const now = Date.now();
    const r = take(this.bucket, cost, limitPerMin, now);
    this.bucket = r.bucket;
    this.ctx.storage.kv.put('bucket', r.bucket);
    return r.ok
      ? { ok: true, remaining: r.remaining }
      : { ok: false, remaining: r.remaining, retryAfterSec: r.retryAfterSec };
  }
}
