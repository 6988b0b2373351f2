/**
 * What a SIGTERM or SIGINT means, given the ones before it.
 *
 * A signal to the node's whole process group (Ctrl-C in a terminal, systemd's default KillMode,
 * most supervisors) reaches the node more than once: directly, and again through every parent that
 * relays it (npm forwards it to its child, tsx's CLI to its own). Counting each of those as a new
 * request turned a plain Ctrl-C into "force exit now" 40 ms after the drain began (issue 12,
 * item 5). So signals that come within a moment of the last one counted are one signal; only a
 * deliberate later one escalates.
 *
 * Pure and clocked by its caller, so the rule is tested without sending signals.
 */

/** Signals closer together than this are one: relays arrive within milliseconds, a person's second Ctrl-C does not. */
export const SIGNAL_COALESCE_MS = 1_000;

/**
 * - `drain`: the first signal: stop taking work, finish what runs, report, deregister, exit 0.
 * - `duplicate`: the same signal again, relayed: ignore it.
 * - `force`: a deliberate second signal: kill the jobs, hand their leases back, deregister, exit 1.
 * - `abort`: a third, while the forced exit is still handing back: exit now.
 */
export type SignalMeaning = 'drain' | 'duplicate' | 'force' | 'abort';

export class SignalCounter {
  private counted = 0;
  private lastCountedAt = -Infinity;

  constructor(private readonly windowMs = SIGNAL_COALESCE_MS) {}

  classify(now: number): SignalMeaning {
    if (now - this.lastCountedAt < this.windowMs) return 'duplicate';
    this.lastCountedAt = now;
    this.counted++;
    return this.counted === 1 ? 'drain' : this.counted === 2 ? 'force' : 'abort';
  }
}
