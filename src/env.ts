import { z } from 'zod';
import type { Scheduler } from '../durable-objects/scheduler';
import type { RateLimiter } from '../durable-objects/rate-limiter';
import type { ScheduleKeeper } from '../durable-objects/schedules';

/** Bindings and variables the Worker and the Scheduler Durable Object receive. */
export interface Env {
  DB: D1Database;
  SCHEDULER: DurableObjectNamespace<Scheduler>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  SCHEDULE_KEEPER: DurableObjectNamespace<ScheduleKeeper>;
  /** Large payloads and job outputs (wrangler.toml [[r2_buckets]]; docs/protocol.md, large payloads). */
  BLOBS: R2Bucket;
  /** Test-only fault injection (test/chaos): the Scheduler's next alarm throws once. */
  FAULT_ALARM_FAIL_ONCE?: string;
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

/**
 * Every variable, with the original project's defaults. Parsed once per isolate; a deployed Worker
 * with a bad value answers 503 `config_invalid` naming it rather than running half-configured.
 */
export const ConfigSchema = z
  .object({
    WORKER_TOKEN: z.string().min(8, 'must be at least 8 characters'),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    ALLOW_ANONYMOUS: bool(false),
    WORKER_HEARTBEAT_TIMEOUT_SEC: int(1, 86_400, 90),
    HEARTBEAT_INTERVAL_SEC: int(1, 3_600, 5),
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
    SCALE_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    SCALE_WEBHOOK_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
    CALLBACK_SIGNING_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    CALLBACK_SIGNING_KEY_NEXT: z.string().min(16, 'must be at least 16 characters').optional(),
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
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
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
    if (c.BACKOFF_BASE_SEC > c.BACKOFF_MAX_SEC)
      ctx.addIssue({
        code: 'custom',
        path: ['BACKOFF_BASE_SEC'],
        message: 'must be <= BACKOFF_MAX_SEC',
      });
  });
export type Config = z.infer<typeof ConfigSchema>;

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
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => ({
      variable: String(i.path[0] ?? 'config'),
      message: i.message,
    })),
  };
}

let cached: { vars: unknown; result: ConfigResult } | undefined;

/** Parses once per isolate (env is the same object for every request of a deployment). */
export function configOf(env: Env): ConfigResult {
  if (cached?.vars !== env)
    cached = { vars: env, result: parseConfig(env as Record<string, unknown>) };
  return cached.result;
}
