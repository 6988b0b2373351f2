/**
 * The work of the flow-limits chaos phase (issue 17): which jobs are submitted when, with which
 * limits, and the submitter that sends them through an API that may be restarting.
 *
 * Every job is an `http` job calling the flow receiver, which holds it for 300 to 800 ms. One slot
 * in ten of the steady stream is, by its index:
 *   0-3  rate limited: one of two keys, `limit` starts per `period_sec` (binding: 2 per 4 s)
 *   4, 5, 7, 9  plain
 *   6    a debounced burst: three submissions 300 ms apart under a key of its own, delay 2 s
 *   8    a dedup group: three submissions 700 ms apart under a key of its own, window 300 s
 * and all of them under the queue's concurrency cap (3 of the phase's 6 slots). CHAOS_FLOW_PARTS
 * narrows the phase to some of the limits, for an API that has only those.
 */
import type { Job } from '../../src/protocol/job';
import type { ChaosCluster } from './cluster';
import type { FlowSubmission } from './flow-checker';
import type { FlowReceiver } from './flow-receiver';

export const FLOW_LIMITS = {
  rate: { limit: 2, period_sec: 4, keys: 2 },
  debounce: { delay_sec: 2, burst: 3, spacingMs: 300 },
  dedup: { ttl_sec: 300, copies: 3, spacingMs: 700 },
  concurrencyLimit: 3,
} as const;

/** The limits the phase can prove; CHAOS_FLOW_PARTS picks some (default: all of them). */
export const FLOW_PARTS = ['rate', 'cap', 'pause', 'debounce', 'dedup'] as const;
export type FlowPart = (typeof FLOW_PARTS)[number];

export function flowParts(env = process.env.CHAOS_FLOW_PARTS): Set<FlowPart> {
  if (!env) return new Set(FLOW_PARTS);
  const named = env.split(',').map((p) => p.trim());
  const unknown = named.filter((p) => !(FLOW_PARTS as readonly string[]).includes(p));
  if (unknown.length)
    throw new Error(
      `CHAOS_FLOW_PARTS: unknown ${unknown.join(', ')} (known: ${FLOW_PARTS.join(', ')})`,
    );
  return new Set(named as FlowPart[]);
}

export interface Planned {
  /** Ms after the load starts. */
  offset: number;
  token: string;
  holdMs: number;
  /** The job's flow-control fields, as the API names them. */
  fields: Record<string, unknown>;
  spec: Pick<FlowSubmission, 'rate' | 'debounce' | 'dedup'>;
}

/** The slots of a part left out are plain jobs. */
export function planFlow(
  queue: string,
  n: number,
  rate: number,
  random: () => number,
  parts: Set<FlowPart> = new Set(FLOW_PARTS),
): Planned[] {
  const out: Planned[] = [];
  const hold = () => 300 + Math.floor(random() * 500);
  const token = (i: number, j = 0) =>
    `${queue}-${i}.${j}-${Math.floor(random() * 1e9).toString(36)}`;
  const { rate: r, debounce: d, dedup: u } = FLOW_LIMITS;
  for (let i = 0; i < n; i++) {
    const offset = Math.round((i * 1000) / rate);
    const slot = i % 10;
    if (slot <= 3 && parts.has('rate')) {
      const key = `${queue}-r${i % r.keys}`;
      out.push({
        offset,
        token: token(i),
        holdMs: hold(),
        fields: { rate_limit: { key, limit: r.limit, period_sec: r.period_sec } },
        spec: { rate: { key, limit: r.limit, periodMs: r.period_sec * 1000 } },
      });
    } else if (slot === 6 && parts.has('debounce')) {
      const key = `${queue}-d${i}`;
      for (let j = 0; j < d.burst; j++)
        out.push({
          offset: offset + j * d.spacingMs,
          token: token(i, j),
          holdMs: hold(),
          fields: { debounce: { key, delay_sec: d.delay_sec } },
          spec: { debounce: { key, delayMs: d.delay_sec * 1000 } },
        });
    } else if (slot === 8 && parts.has('dedup')) {
      const key = `${queue}-u${i}`;
      for (let j = 0; j < u.copies; j++)
        out.push({
          offset: offset + j * u.spacingMs,
          token: token(i, j),
          holdMs: hold(),
          fields: { dedup_key: key, dedup_ttl_sec: u.ttl_sec },
          spec: { dedup: { key, ttlMs: u.ttl_sec * 1000 } },
        });
    } else out.push({ offset, token: token(i), holdMs: hold(), fields: {}, spec: {} });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

export interface FlowSubmitted {
  submissions: FlowSubmission[];
  /** Distinct jobs the answers named: what the suite's own checker follows to the end. */
  ids: string[];
  indeterminate: number;
  errors: string[];
}

/**
 * Sends each planned submission at its time, open loop, with its token as its idempotency key, so
 * one whose answer an API crash lost is retried until it gets a definite one. `sentAt` is the first
 * try: the submission may have taken effect from then on.
 */
export async function submitPlan(
  cluster: ChaosCluster,
  queue: string,
  plan: Planned[],
  receiver: FlowReceiver,
): Promise<FlowSubmitted> {
  const out: FlowSubmitted = { submissions: [], ids: [], indeterminate: 0, errors: [] };
  const one = async (p: Planned) => {
    const body = {
      type: 'http',
      payload: { url: receiver.url(p.token, p.holdMs) },
      queue,
      max_retries: 10,
      timeout_sec: 5,
      ...p.fields,
    };
    const sentAt = Date.now();
    const deadline = sentAt + 90_000;
    while (Date.now() < deadline) {
      try {
        const r = await withTimeout(
          cluster.stack.call<{ job: Job }>('POST', '/jobs', body, { 'x-idempotency-key': p.token }),
          15_000,
        );
        if (r.status === 201 || r.status === 200) {
          out.submissions.push({
            token: p.token,
            sentAt,
            answeredAt: Date.now(),
            jobId: r.body.job.id,
            ...p.spec,
          });
          return;
        }
        if (r.status < 500 && r.status !== 409 && r.status !== 429) {
          out.errors.push(
            `submit ${p.token} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`,
          );
          return;
        }
      } catch {
        // the API is down: ask again with the same key
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    out.indeterminate++;
  };
  const t0 = Date.now();
  const inflight: Promise<void>[] = [];
  for (const p of plan) {
    const wait = t0 + p.offset - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(one(p));
  }
  await Promise.all(inflight);
  out.ids = [...new Set(out.submissions.map((s) => s.jobId))];
  return out;
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(t));
}
