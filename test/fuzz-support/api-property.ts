/**
 * The property every API fuzz suite checks, per generated request: no 5xx; a 4xx in the error shape
 * naming the field; and a refused request changes nothing. After every refused request the cheap
 * snapshot (job count, newest job, worker registry) must be unchanged; at the end of the property the
 * full one (every job, worker, API key and schedule) must equal the one taken after the last accepted
 * request. An accepted request may change state: `onAccepted` can undo it (cancel the jobs it
 * created, delete a schedule), then both baselines are taken again.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  lightSnapshot,
  raw,
  snapshot,
  snapshotDiff,
  type LightSnapshot,
  type RawAnswer,
  type RawRequest,
  type Snapshot,
} from './api-client';
import { assertErrorShape } from './error-shape';
import { fuzzParams } from './config';

export interface RefusalOptions {
  /** Statuses this endpoint may answer to the generated input; anything else fails the property. */
  allowed?: (status: number, req: RawRequest) => boolean;
  /** Extra checks on each answer (e.g. a specific code for a specific kind of input). */
  check?: (req: RawRequest, res: RawAnswer) => void | Promise<void>;
  /**
   * Undoes or accounts for an accepted request. Returns the ids of the jobs it created, which the
   * end-of-property comparison leaves out; returning nothing takes the full snapshot again instead.
   */
  onAccepted?: (req: RawRequest, res: RawAnswer) => Promise<string[] | void>;
}

export interface Baseline {
  light: LightSnapshot;
  full: Snapshot;
  /** Jobs created by accepted requests since `full` was taken. */
  created: Set<string>;
}

export const takeBaseline = async (): Promise<Baseline> => ({
  light: await lightSnapshot(),
  full: await snapshot(),
  created: new Set(),
});

/** `after` without the jobs accepted requests created, to compare with a snapshot taken before them. */
function withoutCreated(after: Snapshot, created: Set<string>): Snapshot {
  const page = after.jobs.page.filter((j) => !created.has((j as { id: string }).id));
  return { ...after, jobs: { total: after.jobs.total - created.size, page } };
}

export function describeRequest(req: RawRequest): string {
  const body =
    req.body === undefined
      ? ''
      : typeof req.body === 'string'
        ? req.body
        : `bytes[${Array.from(req.body.slice(0, 80)).join(',')}${req.body.length > 80 ? ',...' : ''}] (${req.body.length} bytes)`;
  const headers = req.headers ? ` ${JSON.stringify(req.headers).slice(0, 200)}` : '';
  return `${req.method} ${req.path.slice(0, 200)}${req.path.length > 200 ? `... (${req.path.length} chars)` : ''}${headers} ${body.slice(0, 400)}${body.length > 400 ? `... (${body.length} chars)` : ''}`;
}

/** Sends one request and applies the pass rule; returns the answer. */
export async function sendChecked(
  req: RawRequest,
  baseline: Baseline,
  opts: RefusalOptions = {},
): Promise<RawAnswer> {
  const res = await raw(req);
  const what = describeRequest(req);
  assertErrorShape(what, res);
  if (opts.allowed && !opts.allowed(res.status, req))
    throw new Error(
      `status ${res.status} not allowed here\n  ${what} -> ${res.text.slice(0, 400)}`,
    );
  await opts.check?.(req, res);
  // Reads change nothing whatever they answer; writes change nothing when refused.
  if (res.status >= 400 || req.method === 'GET' || req.method === 'HEAD') {
    const after = await lightSnapshot();
    if (JSON.stringify(after) !== JSON.stringify(baseline.light)) {
      const full = await snapshot();
      const diff = snapshotDiff(baseline.full, withoutCreated(full, baseline.created));
      // Re-baseline (below), so the shrinking runs that follow are judged on their own change only.
      const light = `light snapshot before ${JSON.stringify(baseline.light).slice(0, 600)}\nafter ${JSON.stringify(after).slice(0, 600)}`;
      Object.assign(baseline, { light: after, full, created: new Set() });
      throw new Error(
        `a refused request (${res.status} ${res.text.slice(0, 160)}) changed state\n  ${what}\n${diff.slice(0, 1500)}\n${light}`,
      );
    }
  } else {
    const created = await opts.onAccepted?.(req, res);
    if (created) {
      for (const id of created) baseline.created.add(id);
      baseline.light = await lightSnapshot();
    } else Object.assign(baseline, await takeBaseline());
  }
  return res;
}

/** The end-of-property check: the full snapshot is the one after the last accepted request. */
export async function expectUnchanged(baseline: Baseline): Promise<void> {
  const full = withoutCreated(await snapshot(), baseline.created);
  expect(snapshotDiff(baseline.full, full)).toBe('(no difference)');
}

/**
 * Runs `runs` generated requests through sendChecked, then compares the full snapshot. A request may
 * come as a promise: one that is signed (WebCrypto's HMAC is asynchronous).
 */
export async function checkRequests(
  name: string,
  requests: fc.Arbitrary<RawRequest | Promise<RawRequest>>,
  runs: number,
  opts: RefusalOptions = {},
): Promise<void> {
  const baseline = await takeBaseline();
  await fc.assert(
    fc.asyncProperty(requests, async (req) => {
      await sendChecked(await req, baseline, opts);
    }),
    fuzzParams(name, runs),
  );
  await expectUnchanged(baseline);
}
