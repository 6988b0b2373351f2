import { z } from 'zod';
import { LOG_LEVELS, setLogLevel } from './log';
import { parseSigningKey } from './core/standard-webhooks';
import type { Scheduler } from '../durable-objects/scheduler';
import type { RateLimiter } from '../durable-objects/rate-limiter';
import type { ScheduleKeeper } from '../durable-objects/schedules';
import type { Courier } from '../durable-objects/courier';
import type { BulkRunner } from '../durable-objects/bulk-runner';

/** Bindings and variables the Worker and the Scheduler Durable Object receive. */
export interface Env {
  DB: D1Database;
  SCHEDULER: DurableObjectNamespace<Scheduler>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  SCHEDULE_KEEPER: DurableObjectNamespace<ScheduleKeeper>;
  /** Callback deliveries, one object per receiver origin (durable-objects/courier.ts). */
  COURIER: DurableObjectNamespace<Courier>;
  /** Large bulk actions in the background, one object per action (durable-objects/bulk-runner.ts). */
  BULK_RUNNER: DurableObjectNamespace<BulkRunner>;
  /** Large payloads and job outputs (wrangler.toml [[r2_buckets]]; docs/protocol.md, large payloads). */
  BLOBS: R2Bucket;
  /** The dashboard's and the API reference's files (wrangler.toml [assets]; src/api/static-assets.ts). */
  ASSETS: Fetcher;
  /** Test-only fault injection (test/chaos): the Scheduler's next alarm throws once. */
  FAULT_ALARM_FAIL_ONCE?: string;
  /** Test-only (test/chaos): this share of D1 batches from the outbox fail, half after D1 took them... */
  FAULT_D1_FAIL_RATE?: string;
  /** ...in these queues only (comma-separated). */
  FAULT_D1_FAIL_QUEUES?: string;
  [key: string]: unknown;
}

const int = (min: number, max: number, dflt: number) =>
  z.coerce.number().int().min(min).max(max).default(dflt);
const bool = (dflt: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .default(dflt ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const csv = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
/** A Standard Webhooks key (`whsec_<base64>`), refused at start rather than at the first delivery. */
const signingKey = z.string().superRefine((v, ctx) => {
  const parsed = parseSigningKey(v);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

/** Beats a node sends per WORKER_HEARTBEAT_TIMEOUT_SEC, at least. */
export const BEATS_PER_TIMEOUT = 3;
const DEFAULT_HEARTBEAT_INTERVAL_SEC = 5;

/**
 * The interval the API asks nodes for when HEARTBEAT_INTERVAL_SEC is unset: 5 s, or a third of the
 * timeout when that is shorter (a 4 s timeout gets beats every 1.333 s, never 5 s).
 */
export function heartbeatIntervalFor(timeoutSec: number): number {
  const third = Math.floor((timeoutSec / BEATS_PER_TIMEOUT) * 1000) / 1000;
  return Math.min(DEFAULT_HEARTBEAT_INTERVAL_SEC, third);
}

/**
 * Every variable, with the original project's defaults. Parsed once per isolate; a deployed Worker
 * with a bad value answers 503 `config_invalid` naming it rather than running half-configured.
 */
export const ConfigSchema = z
  .object({
    WORKER_TOKEN: z
      .string()
      .min(8, 'must be at least 8 characters')
      .refine((t) => !t.startsWith('nk_'), 'must not start with nk_, the form of node keys'),
    // false: worker nodes must use their own keys (/admin/node-keys); the shared token is refused.
    ALLOW_SHARED_WORKER_TOKEN: bool(true),
    // How long an isolate trusts a node key it read from D1 without reading it again: the bound on
    // revocation in other isolates (src/api/node-key-cache.ts).
    NODE_KEY_CACHE_SEC: int(0, 3_600, 30),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    ALLOW_ANONYMOUS: bool(false),
    WORKER_HEARTBEAT_TIMEOUT_SEC: int(1, 86_400, 90),
    // Unset, it follows from the timeout (heartbeatIntervalFor); set, it must leave room for it.
    HEARTBEAT_INTERVAL_SEC: z.coerce.number().int().min(1).max(3_600).optional(),
    IDEMPOTENCY_TTL_SEC: int(1, 30 * 86_400, 86_400),
    DEFAULT_TIMEOUT_SEC: int(1, 86_400, 300),
    BACKOFF_BASE_SEC: z.coerce.number().min(0.001).max(3_600).default(1),
    BACKOFF_MAX_SEC: z.coerce.number().min(0.001).max(86_400).default(60),
    DISPATCH_TIMEOUT_MS: int(100, 120_000, 10_000),
    LEASE_GRACE_SEC: int(0, 3_600, 10),
    MAX_LEASE_LOSSES: int(1, 1_000, 10),
    WORKER_URL_ALLOWLIST: csv,
    ALLOW_PRIVATE_WORKER_URLS: bool(false),
    QUEUE_THRESHOLD_HIGH: int(0, 1_000_000_000, 10),
    QUEUE_THRESHOLD_LOW: int(0, 1_000_000_000, 2),
    MIN_WORKERS: int(0, 100_000, 1),
    MAX_WORKERS: int(0, 100_000, 4),
    SCALE_DOWN_STABLE_SEC: int(0, 86_400, 30),
    RATE_LIMIT_JOBS_PER_MIN: int(0, 1_000_000, 120),
    // Queues a tenant's keys may have active at once, and how long an empty queue with no node waits
    // before the cron retires it (0: never); docs/protocol.md, "Queues and tenants".
    MAX_QUEUES_PER_TENANT: int(1, 100_000, 100),
    QUEUE_IDLE_RETIRE_SEC: int(0, 365 * 86_400, 86_400),
    SCALE_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    SCALE_WEBHOOK_SECRET: signingKey.optional(),
    CALLBACK_SIGNING_KEY: signingKey.optional(),
    CALLBACK_SIGNING_KEY_NEXT: signingKey.optional(),
    CALLBACK_MAX_ATTEMPTS: int(1, 100, 8),
    CALLBACK_TIMEOUT_MS: int(100, 60_000, 10_000),
    RETENTION_DAYS: int(0, 36_500, 30),
    MAX_STARVATION_SEC: int(0, 30 * 86_400, 300),
    TENANT_WEIGHTS: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const out: Record<string, number> = {};
        for (const part of v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          const m = /^([A-Za-z0-9_.-]{1,64})=(\d{1,6})$/.exec(part);
          if (!m) {
            ctx.addIssue({
              code: 'custom',
              message: `"${part}" is not tenant=weight (a whole number)`,
            });
            return z.NEVER;
          }
          out[m[1]] = Number(m[2]);
        }
        return out;
      }),
    // Any case: `LOG_LEVEL=DEBUG` is what people type.
    LOG_LEVEL: z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(LOG_LEVELS))
      .default('info'),
  })
  .superRefine((c, ctx) => {
    if (c.MIN_WORKERS > c.MAX_WORKERS)
      ctx.addIssue({
        code: 'custom',
        path: ['MIN_WORKERS'],
        message: `MIN_WORKERS (${c.MIN_WORKERS}) must be <= MAX_WORKERS (${c.MAX_WORKERS})`,
      });
    if (c.QUEUE_THRESHOLD_LOW > c.QUEUE_THRESHOLD_HIGH)
      ctx.addIssue({
        code: 'custom',
        path: ['QUEUE_THRESHOLD_LOW'],
        message: `QUEUE_THRESHOLD_LOW (${c.QUEUE_THRESHOLD_LOW}) must be <= QUEUE_THRESHOLD_HIGH (${c.QUEUE_THRESHOLD_HIGH})`,
      });
    // A node reaped between two healthy beats re-registers and is reaped again: a livelock in which
    // every lease it holds is lost (issue 12, item 4). Three beats per timeout let one beat go
    // missing (a transient API error) without the node being reaped.
    if (
      c.HEARTBEAT_INTERVAL_SEC !== undefined &&
      c.HEARTBEAT_INTERVAL_SEC * BEATS_PER_TIMEOUT > c.WORKER_HEARTBEAT_TIMEOUT_SEC
    ) {
      const both = `HEARTBEAT_INTERVAL_SEC (${c.HEARTBEAT_INTERVAL_SEC}) must be at most a third of WORKER_HEARTBEAT_TIMEOUT_SEC (${c.WORKER_HEARTBEAT_TIMEOUT_SEC}), or a healthy node is reaped between beats: lower the interval, raise the timeout, or unset HEARTBEAT_INTERVAL_SEC to derive it`;
      for (const variable of ['HEARTBEAT_INTERVAL_SEC', 'WORKER_HEARTBEAT_TIMEOUT_SEC'])
        ctx.addIssue({ code: 'custom', path: [variable], message: both });
    }
    // The scale webhook goes to a receiver outside the cluster: it is signed with its own key or the
    // callback keys, never with WORKER_TOKEN, which a receiver could then use to act as a worker.
    if (c.SCALE_WEBHOOK_URL && !c.SCALE_WEBHOOK_SECRET && !c.CALLBACK_SIGNING_KEY)
      ctx.addIssue({
        code: 'custom',
        path: ['SCALE_WEBHOOK_SECRET'],
        message:
          'SCALE_WEBHOOK_URL needs SCALE_WEBHOOK_SECRET (or CALLBACK_SIGNING_KEY) to sign with',
      });
    if (c.BACKOFF_BASE_SEC > c.BACKOFF_MAX_SEC)
      ctx.addIssue({
        code: 'custom',
        path: ['BACKOFF_BASE_SEC'],
        message: 'must be <= BACKOFF_MAX_SEC',
      });
  });
/** The heartbeat interval is always known once parsed: set, or derived from the timeout. */
export type Config = Omit<z.infer<typeof ConfigSchema>, 'HEARTBEAT_INTERVAL_SEC'> & {
  HEARTBEAT_INTERVAL_SEC: number;
};

export type ConfigResult =
  { ok: true; config: Config } | { ok: false; problems: { variable: string; message: string }[] };

export function parseConfig(vars: Record<string, unknown>): ConfigResult {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = vars[key];
    // Empty strings count as unset so `VAR=` in a .dev.vars file takes the default.
    if (v !== undefined && v !== '') picked[key] = v;
  }
  const parsed = ConfigSchema.safeParse(picked);
  if (parsed.success) {
    const c = parsed.data;
    const interval =
      c.HEARTBEAT_INTERVAL_SEC ?? heartbeatIntervalFor(c.WORKER_HEARTBEAT_TIMEOUT_SEC);
    return { ok: true, config: { ...c, HEARTBEAT_INTERVAL_SEC: interval } };
  }
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => ({
      variable: String(i.path[0] ?? 'config'),
      message: i.message,
    })),
  };
}

// By env object: the Worker and each Durable Object class get their own, and locally they share one
// isolate, so a single slot would be re-parsed each time a request crossed from one to the other.
const cached = new WeakMap<object, ConfigResult>();

/** Parses once per isolate and env (env is the same object for every request of a deployment). */
export function configOf(env: Env): ConfigResult {
  let result = cached.get(env);
  if (!result) {
    result = parseConfig(env as Record<string, unknown>);
    cached.set(env, result);
    if (result.ok) setLogLevel(result.config.LOG_LEVEL);
  }
  return result;
}
