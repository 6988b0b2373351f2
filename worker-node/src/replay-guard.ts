/**
 * Refuses a dispatch the node has already seen. A signature alone cannot: a captured request stays
 * valid for the whole signature window. So the node remembers, for as long as a copy could still
 * verify, each signature it accepted (an exact replay) and each (job, attempt) it took (the same
 * attempt re-signed), and a repeat of either is a `duplicate`.
 */
import { SIGNATURE_MAX_AGE_MS } from '../../src/protocol/dispatch';

// A timestamp may be up to SIGNATURE_MAX_AGE_MS in the future as well as in the past, so a request
// stays verifiable for twice the window from the moment it was signed.
const REMEMBER_MS = 2 * SIGNATURE_MAX_AGE_MS + 60_000;

export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly rememberMs = REMEMBER_MS) {}

  /** True the first time `key` is seen (and records it); false for a repeat. */
  admit(key: string, nowMs: number): boolean {
    this.prune(nowMs);
    if (this.seen.has(key)) return false;
    this.seen.set(key, nowMs + this.rememberMs);
    return true;
  }

  has(key: string, nowMs: number): boolean {
    this.prune(nowMs);
    return this.seen.has(key);
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(nowMs: number): void {
    // Insertion order is expiry order (a constant window), so the stale ones are at the front.
    for (const [key, expires] of this.seen) {
      if (expires > nowMs) break;
      this.seen.delete(key);
    }
  }
}
