/**
 * Raw requests to the API through SELF.fetch (workerd, real D1 and Durable Objects), and a snapshot of
 * everything a refused request must leave alone: every job (all tenants, through the admin token),
 * the worker registry, API keys, node keys and schedules. For the workers fuzz suites only.
 */
import { SELF } from 'cloudflare:test';
import type { Answer } from './error-shape';

export const WORKER_TOKEN = 'test-worker-token';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const WORKER_AUTH = { authorization: `Bearer ${WORKER_TOKEN}` };
export const ADMIN_AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface RawRequest {
  method: string;
  path: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface RawAnswer extends Answer {
  // Parsed JSON when the body is JSON, else its text; `any` as in test/workers/helpers.ts.
  body: any;
  headers: Headers;
  text: string;
}

export async function raw(req: RawRequest): Promise<RawAnswer> {
  const headers = new Headers();
  if (req.body !== undefined) headers.set('content-type', 'application/json');
  for (const [k, v] of Object.entries(req.headers ?? {})) headers.set(k, v);
  const res = await SELF.fetch(`http://cloud.test${req.path}`, {
    method: req.method,
    headers,
    body: req.body as BodyInit | undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the checks say so
  }
  return { status: res.status, body, headers: res.headers, text };
}

export const json = (
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) => raw({ method, path, body: typeof body === 'string' ? body : JSON.stringify(body), headers });

/** What a refused request must not change. Volatile fields (ages) are left out. */
export interface Snapshot {
  jobs: { total: number; page: unknown[] };
  workers: unknown[];
  apiKeys: unknown[];
  nodeKeys: unknown[];
  schedules: { total: number; page: unknown[] };
}

/** The cheap part, compared after every refused request: job count, newest job, the worker registry. */
export interface LightSnapshot {
  jobs: number;
  newest: unknown;
  workers: unknown[];
}

let lightWithWorkers = true;
/** GET /workers asks every queue's Durable Object; suites that never touch workers leave it to the full snapshot. */
export function lightSnapshotWorkers(include: boolean): void {
  lightWithWorkers = include;
}

export async function lightSnapshot(): Promise<LightSnapshot> {
  const [jobs, workers] = await Promise.all([
    raw({ method: 'GET', path: '/jobs?limit=1', headers: ADMIN_AUTH }),
    lightWithWorkers
      ? raw({ method: 'GET', path: '/workers', headers: ADMIN_AUTH })
      : Promise.resolve({ status: 200, text: '', body: { workers: [] } } as unknown as RawAnswer),
  ]);
  for (const r of [jobs, workers])
    if (r.status !== 200)
      throw new Error(`snapshot read failed: ${r.status} ${r.text.slice(0, 300)}`);
  const j = jobs.body as { total: number; jobs: unknown[] };
  return {
    jobs: j.total,
    newest: j.jobs[0] ?? null,
    workers: (workers.body as { workers: Record<string, unknown>[] }).workers.map(
      ({ heartbeat_age_sec: _age, ...w }) => w,
    ),
  };
}

/** What differs between two snapshots, in a few lines: ids added, removed or changed, and how. */
export function snapshotDiff(before: Snapshot, after: Snapshot): string {
  const lines: string[] = [];
  const byId = (xs: unknown[]) => new Map((xs as { id: string }[]).map((x) => [x.id, x]));
  const compare = (what: string, a: unknown[], b: unknown[]) => {
    const [ma, mb] = [byId(a), byId(b)];
    for (const [id, x] of mb) {
      const y = ma.get(id);
      if (!y) lines.push(`${what} added: ${JSON.stringify(x).slice(0, 300)}`);
      else {
        const fields = Object.keys({ ...(x as object), ...(y as object) }).filter(
          (k) => JSON.stringify((x as any)[k]) !== JSON.stringify((y as any)[k]),
        );
        if (fields.length)
          lines.push(
            `${what} ${id} changed: ${fields.map((f) => `${f} ${JSON.stringify((y as any)[f])?.slice(0, 80)} -> ${JSON.stringify((x as any)[f])?.slice(0, 80)}`).join(', ')}`,
          );
      }
    }
    for (const id of ma.keys()) if (!mb.has(id)) lines.push(`${what} removed: ${id}`);
  };
  if (before.jobs.total !== after.jobs.total)
    lines.push(`job total ${before.jobs.total} -> ${after.jobs.total}`);
  compare('job', before.jobs.page, after.jobs.page);
  compare('worker', before.workers, after.workers);
  compare('api key', before.apiKeys, after.apiKeys);
  compare('node key', before.nodeKeys, after.nodeKeys);
  if (before.schedules.total !== after.schedules.total)
    lines.push(`schedule total ${before.schedules.total} -> ${after.schedules.total}`);
  compare('schedule', before.schedules.page, after.schedules.page);
  return lines.join('\n') || '(no difference)';
}

export async function snapshot(): Promise<Snapshot> {
  const [jobs, workers, keys, nodeKeys, schedules] = await Promise.all([
    raw({ method: 'GET', path: '/jobs?limit=500', headers: ADMIN_AUTH }),
    raw({ method: 'GET', path: '/workers', headers: ADMIN_AUTH }),
    raw({ method: 'GET', path: '/admin/keys', headers: ADMIN_AUTH }),
    raw({ method: 'GET', path: '/admin/node-keys', headers: ADMIN_AUTH }),
    raw({ method: 'GET', path: '/schedules?limit=500' }),
  ]);
  for (const r of [jobs, workers, keys, nodeKeys, schedules])
    if (r.status !== 200)
      throw new Error(`snapshot read failed: ${r.status} ${r.text.slice(0, 300)}`);
  const j = jobs.body as { total: number; jobs: Record<string, unknown>[] };
  const s = schedules.body as { total: number; schedules: Record<string, unknown>[] };
  return {
    jobs: { total: j.total, page: j.jobs },
    workers: (workers.body as { workers: Record<string, unknown>[] }).workers.map(
      ({ heartbeat_age_sec: _age, ...w }) => w,
    ),
    apiKeys: (keys.body as { api_keys: unknown[] }).api_keys,
    nodeKeys: (nodeKeys.body as { node_keys: unknown[] }).node_keys,
    schedules: { total: s.total, page: s.schedules },
  };
}
