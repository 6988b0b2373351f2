/**
 * Pure: counts the violations of the flow-control limits (issue 17) in what the receiver saw
 * (flow-receiver.ts) against what was submitted. Used by the chaos phase `flow-limits` and by
 * bench/flow; unit-tested in test/unit/flow-checker.test.ts.
 *
 * How re-runs count. Delivery is at-least-once: a node killed mid-run makes the same job run again.
 * - For a rate limit, every arrival is a start, re-runs included: the service behind the key is
 *   called again, and the engine charges every start (first attempts, retries, re-dispatches).
 * - For the queue's concurrency cap, every held call counts while it is held. A killed node's calls
 *   end when its sockets close, before the engine frees their slots, so a re-run never overlaps its
 *   own first run here.
 * - For debounce and dedup, what counts is distinct jobs (tokens) run: a re-run of the one job a
 *   burst or a key produced is a re-run, not a second run of the burst or key.
 *
 * Only what is certain counts. The API's clock is not read: a submission took effect somewhere
 * between its send and its answer, so a debounce gap or a dedup window is judged by those bounds,
 * and an arrival is later than the engine's start by the trip to the node: rate windows and pauses
 * are narrowed by `jitterMs`, the most a dispatch may take to arrive.
 */
import type { Arrival } from './flow-receiver';

export interface FlowSubmission {
  /** Unique per submission: the payload's token and the receiver's key for it. */
  token: string;
  /** When it was sent, first try, and when its definite answer came (ms since epoch). */
  sentAt: number;
  answeredAt: number;
  /** The job the answer named. */
  jobId: string;
  rate?: { key: string; limit: number; periodMs: number };
  /** `key` is unique to one burst of submissions. */
  debounce?: { key: string; delayMs: number };
  dedup?: { key: string; ttlMs: number };
}

export interface FlowInput {
  submissions: FlowSubmission[];
  arrivals: Arrival[];
  /** The queue's concurrency_limit; none when absent. */
  queueCap?: number;
  /** From a pause's 2xx answer to the first resume sent: the queue starts nothing. */
  pauses: Array<{ from: number; to: number }>;
  jitterMs: number;
}

export interface FlowCounts {
  submitted: number;
  runs: number;
  reruns: number;
  max_running: number;
  /** The shortest time `limit + 1` starts of one rate key took: how close the limit was run. */
  rate_min_span_ms: number | null;
  rate_over: number;
  cap_over: number;
  paused_starts: number;
  debounce_extra: number;
  debounce_wrong: number;
  debounce_early: number;
  dedup_dup: number;
  dedup_split: number;
  not_run: number;
  unknown_runs: number;
}

export interface FlowVerdict {
  counts: FlowCounts;
  violations: string[];
}

export function checkFlow(input: FlowInput): FlowVerdict {
  const { submissions, jitterMs } = input;
  const arrivals = [...input.arrivals].sort((a, b) => a.at - b.at);
  const byToken = new Map(submissions.map((s) => [s.token, s]));
  const ranAt = new Map<string, number[]>();
  for (const a of arrivals) ranAt.set(a.token, [...(ranAt.get(a.token) ?? []), a.at]);
  const v: string[] = [];
  const counts: FlowCounts = {
    submitted: submissions.length,
    runs: ranAt.size,
    reruns: arrivals.length - ranAt.size,
    max_running: 0,
    rate_min_span_ms: null,
    rate_over: 0,
    cap_over: 0,
    paused_starts: 0,
    debounce_extra: 0,
    debounce_wrong: 0,
    debounce_early: 0,
    dedup_dup: 0,
    dedup_split: 0,
    not_run: 0,
    unknown_runs: 0,
  };
  for (const token of ranAt.keys())
    if (!byToken.has(token)) {
      counts.unknown_runs++;
      v.push(`a job nobody submitted ran (token ${token})`);
    }

  // Rate: a start over the limit found `limit` starts of its key already in the window before it.
  const starts = new Map<string, { at: number[]; spec: NonNullable<FlowSubmission['rate']> }>();
  for (const a of arrivals) {
    const spec = byToken.get(a.token)?.rate;
    if (!spec) continue;
    const k = starts.get(spec.key) ?? { at: [], spec };
    starts.set(spec.key, k);
    const window = spec.periodMs - jitterMs;
    const before = k.at.filter((t) => t > a.at - window).length;
    if (before >= spec.limit) {
      counts.rate_over++;
      v.push(
        `rate key ${spec.key}: ${a.token} started with ${before} starts in the ${window} ms before it (limit ${spec.limit})`,
      );
    }
    k.at.push(a.at);
    if (k.at.length > spec.limit) {
      const span = a.at - k.at[k.at.length - 1 - spec.limit];
      counts.rate_min_span_ms = Math.min(counts.rate_min_span_ms ?? Infinity, span);
    }
  }

  // The queue's cap: calls held when another arrived.
  for (const a of arrivals) {
    const running = arrivals.filter(
      (b) => b !== a && b.at <= a.at && (b.end === null || b.end > a.at),
    ).length;
    counts.max_running = Math.max(counts.max_running, running + 1);
    if (input.queueCap !== undefined && running >= input.queueCap) {
      counts.cap_over++;
      v.push(`${a.token} started while ${running} ran (queue cap ${input.queueCap})`);
    }
  }

  for (const p of input.pauses)
    for (const a of arrivals)
      if (a.at > p.from + jitterMs && a.at < p.to) {
        counts.paused_starts++;
        v.push(`${a.token} started ${a.at - p.from} ms into a pause`);
      }

  checkDebounce(submissions, ranAt, counts, v);
  checkDedup(submissions, ranAt, counts, v);

  // Every plain and rate-limited job must run; a burst or a dedup key runs once (checked above).
  for (const s of submissions)
    if (!s.debounce && !s.dedup && !ranAt.has(s.token)) {
      counts.not_run++;
      v.push(`${s.token} never ran`);
    }
  return { counts, violations: v };
}

/**
 * A burst's submissions split into parts at every gap that may have reached the delay (in send
 * order; a pair's gap is at most the later answer less the earlier send, either way round). Within
 * a part every submission went into the pending job, so at most one of its tokens runs; it is one
 * the API may have taken last (no other was sent after its answer), and it runs no sooner than the
 * delay after the latest send. The burst as a whole runs at least once.
 */
function checkDebounce(
  subs: FlowSubmission[],
  ranAt: Map<string, number[]>,
  counts: FlowCounts,
  v: string[],
): void {
  for (const burst of groupBy(subs, (s) => s.debounce?.key)) {
    const { key, delayMs: delay } = burst[0].debounce!;
    if (!burst.some((s) => ranAt.has(s.token))) {
      counts.not_run++;
      v.push(`debounce ${key}: the burst never ran`);
    }
    let part: FlowSubmission[] = [];
    const close = () => {
      const ran = part.filter((s) => ranAt.has(s.token));
      if (ran.length > 1) {
        counts.debounce_extra += ran.length - 1;
        v.push(`debounce ${key}: ${ran.length} runs of one burst`);
      }
      const lastSent = Math.max(...part.map((s) => s.sentAt));
      for (const s of ran) {
        const later = part.find((t) => t.sentAt > s.answeredAt);
        if (later) {
          counts.debounce_wrong++;
          v.push(`debounce ${key}: ${s.token} ran, but ${later.token} came after it`);
        }
        const first = Math.min(...ranAt.get(s.token)!);
        if (first < lastSent + delay) {
          counts.debounce_early++;
          v.push(
            `debounce ${key}: ran ${first - lastSent} ms after the last submission (delay ${delay})`,
          );
        }
      }
      part = [];
    };
    for (const s of burst) {
      const prev = part[part.length - 1];
      if (prev && Math.max(s.answeredAt - prev.sentAt, prev.answeredAt - s.sentAt) >= delay)
        close();
      part.push(s);
    }
    close();
  }
}

/**
 * Submissions certainly inside the first's window name one job, and one job runs: not necessarily
 * the first's payload, since submissions sent together reach the API in any order, and one whose
 * first try died before its job was made leaves the key's job to the next.
 */
function checkDedup(
  subs: FlowSubmission[],
  ranAt: Map<string, number[]>,
  counts: FlowCounts,
  v: string[],
): void {
  for (const group of groupBy(subs, (s) => s.dedup?.key)) {
    const first = group[0];
    if (!group.some((s) => ranAt.has(s.token))) {
      counts.not_run++;
      v.push(`dedup ${first.dedup!.key}: no job ran`);
    }
    const inside = group.filter((s) => s.answeredAt - first.sentAt < first.dedup!.ttlMs);
    const ids = new Set(inside.map((s) => s.jobId));
    if (ids.size > 1) {
      counts.dedup_split += ids.size - 1;
      v.push(`dedup ${first.dedup!.key}: answers named ${ids.size} jobs inside the window`);
    }
    const ran = inside.filter((s) => ranAt.has(s.token)).length;
    if (ran > 1) {
      counts.dedup_dup += ran - 1;
      v.push(`dedup ${first.dedup!.key}: ${ran} jobs ran inside the window`);
    }
  }
}

/** Submissions grouped by a key (those without one left out), each group in send order. */
function groupBy(
  subs: FlowSubmission[],
  key: (s: FlowSubmission) => string | undefined,
): FlowSubmission[][] {
  const out = new Map<string, FlowSubmission[]>();
  for (const s of subs) {
    const k = key(s);
    if (k !== undefined) out.set(k, [...(out.get(k) ?? []), s]);
  }
  return [...out.values()].map((g) => g.sort((a, b) => a.sentAt - b.sentAt));
}
