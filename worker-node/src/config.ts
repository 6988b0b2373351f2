/**
 * The worker node's configuration: environment variables, parsed once at boot. A bad variable stops
 * the node before it registers, with a message that names the variable (River's `mustValidate`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { JobType, QueueName, WorkerId } from '../../src/protocol/common';
import { DEFAULT_LEASE_WAIT_SEC, MAX_LEASE_WAIT_SEC } from '../../src/protocol/pull';
import { MAX_PREFETCH } from '../../src/protocol/results';

/** A pull node's jobs held beyond its slots: one is enough for a slot never to wait a round trip. */
const DEFAULT_PREFETCH = 1;
import { isValidAllowlistEntry } from '../../src/core/url-policy';
import { parseNodeKey } from '../../src/core/node-key';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const DEFAULTS = {
  API_URL: 'http://localhost:8787',
  WORKER_ENDPOINT: 'http://localhost:9090',
  EXECUTION_BINARY: `${REPO_ROOT}wasm-runner/build/runner`,
  WASM_RUNNER: `${REPO_ROOT}wasm-runner/dist/runner.wasm`,
  // The same value the API's .dev.vars uses, so `npm start` works with no setup; never for production.
  WORKER_TOKEN: 'dev-worker-token',
} as const;

const httpUrl = z.string().transform((u, ctx) => {
  if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http or https URL' });
    return z.NEVER;
  }
  return u.replace(/\/+$/, '');
});

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const csv = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const csvOf = <T extends z.ZodType<string>>(item: T) =>
  z.string().transform((s, ctx) => {
    const out: string[] = [];
    for (const value of csv(s)) {
      const r = item.safeParse(value);
      if (r.success) out.push(r.data);
      else
        ctx.addIssue({
          code: 'custom',
          message: `"${value}": ${r.error.issues[0]?.message ?? 'invalid'}`,
        });
    }
    return out;
  });

const labels = z.string().transform((s, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of csv(s)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || pair.length > 320)
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not key=value` });
    else out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
});

const seconds = (min: number, max: number) => z.coerce.number().min(min).max(max);

const EnvSchema = z.object({
  WORKER_MODE: z.enum(['push', 'pull']).default('push'),
  LEASE_WAIT_SEC: seconds(1, MAX_LEASE_WAIT_SEC).default(DEFAULT_LEASE_WAIT_SEC),
  PREFETCH: z.coerce.number().int().min(0).max(MAX_PREFETCH).default(DEFAULT_PREFETCH),
  API_URL: httpUrl.default(DEFAULTS.API_URL),
  WORKER_ENDPOINT: httpUrl.default(DEFAULTS.WORKER_ENDPOINT),
  WORKER_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WORKER_BIND: z.string().min(1).optional(),
  WORKER_ID: WorkerId.optional(),
  EXECUTION_BINARY: z.string().min(1).default(DEFAULTS.EXECUTION_BINARY),
  WASM_RUNNER: z.string().min(1).default(DEFAULTS.WASM_RUNNER),
  WORKER_CAPACITY: z.coerce.number().int().min(1).max(1024).default(1),
  // The node's own key (nk_..., issued with /admin/node-keys) or the cluster's shared token.
  WORKER_TOKEN: z
    .string()
    .min(8, 'must be at least 8 characters')
    .max(512)
    .refine(
      (t) => !t.startsWith('nk_') || parseNodeKey(t) !== null,
      'starts like a node key (nk_) but is not one: copy the whole key printed by `cloud node-keys create`',
    )
    .optional(),
  // A file holding the token or key (systemd's LoadCredential=, a mounted secret): kept out of the
  // environment, which other processes of the same user can read in /proc.
  WORKER_TOKEN_FILE: z.string().min(1).optional(),
  WORKER_QUEUES: csvOf(QueueName)
    .pipe(z.array(z.string()).min(1, 'needs at least one queue').max(32))
    .default(['default']),
  WORKER_TYPES: csvOf(JobType).pipe(z.array(z.string()).max(256)).optional(),
  WORKER_LABELS: labels.optional(),
  HEARTBEAT_INTERVAL_SEC: seconds(0.2, 3600).default(5),
  DRAIN_TIMEOUT_SEC: seconds(0, 86_400).default(30),
  ALLOW_SHELL: flag.default(false),
  SHELL_ALLOWLIST: z.string().transform(csv).default([]),
  HTTP_JOB_ALLOWLIST: csvOf(
    z.string().refine(isValidAllowlistEntry, 'not a host, IP or CIDR'),
  ).optional(),
  HTTP_JOB_ALLOW_PRIVATE: flag.default(false),
  LOG_LEVEL: z.enum(['debug', 'info']).default('info'),
});

/** Every setting's name, in the order --help lists them (flags.ts). */
export const SETTING_NAMES = Object.keys(EnvSchema.shape) as (keyof typeof EnvSchema.shape)[];

/** The token from WORKER_TOKEN_FILE: its content, one trailing newline dropped, as `echo` writes. */
function readTokenFile(path: string): { token: string } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    return { error: `cannot read ${JSON.stringify(path)}: ${(err as Error).message}` };
  }
  const r = EnvSchema.shape.WORKER_TOKEN.safeParse(text);
  if (!r.success)
    return { error: `the file's token ${r.error.issues[0]?.message ?? 'is invalid'}` };
  return { token: text };
}

/** Variables that only a push node (one the scheduler connects to) uses. */
const PUSH_ONLY = ['WORKER_ENDPOINT', 'WORKER_PORT', 'WORKER_BIND'] as const;

export interface Config {
  /** `push`: listens for signed dispatches; `pull`: no listener at all, long-polls the API for jobs. */
  mode: 'push' | 'pull';
  /** How long each lease request of a pull node waits for work. */
  leaseWaitSec: number;
  /** A pull node's leases beyond its capacity, queued locally (wire version 2 only). */
  prefetch: number;
  apiUrl: string;
  /** The push URL; '' for a pull node. */
  endpoint: string;
  /** The port to listen on; 0 for a pull node, which does not listen. */
  port: number;
  bind?: string;
  workerId: string;
  binaryPath: string;
  wasmPath: string;
  capacity: number;
  /** The Bearer credential of every API call: the node key, or the shared token. */
  token: string;
  /** The node key's id; null with the shared token. */
  keyId: string | null;
  /**
   * The HMAC key of the signatures both ways (src/core/signature.ts): the SHA-256 of a node key's
   * secret (src/core/node-key.ts), or the shared token itself.
   */
  signingKey: string;
  /** True when neither WORKER_TOKEN nor WORKER_TOKEN_FILE was set: the dev default is in use. */
  devToken: boolean;
  queues: string[];
  types?: string[];
  labels?: Record<string, string>;
  heartbeatIntervalMs: number;
  drainTimeoutMs: number;
  allowShell: boolean;
  shellAllowlist: string[];
  httpAllowlist?: string[];
  httpAllowPrivate: boolean;
  logLevel: 'debug' | 'info';
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Parses `env`; never throws. Empty strings count as unset, as shells make it easy to export `X=`. */
export function loadConfig(
  env: Record<string, string | undefined>,
  host = hostname(),
): ConfigResult {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k in EnvSchema.shape && v !== undefined && v !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? 'environment');
        const got =
          typeof present[name] === 'string'
            ? ` (got ${JSON.stringify(present[name].slice(0, 80))})`
            : '';
        return `${name}: ${i.message}${got}`;
      }),
    };
  }
  const e = parsed.data;
  if (e.WORKER_TOKEN !== undefined && e.WORKER_TOKEN_FILE !== undefined)
    return { ok: false, errors: ['WORKER_TOKEN_FILE: set it or WORKER_TOKEN, not both'] };
  if (e.WORKER_TOKEN_FILE !== undefined) {
    const read = readTokenFile(e.WORKER_TOKEN_FILE);
    if ('error' in read) return { ok: false, errors: [`WORKER_TOKEN_FILE: ${read.error}`] };
    e.WORKER_TOKEN = read.token;
  }
  const token = e.WORKER_TOKEN ?? DEFAULTS.WORKER_TOKEN;
  const nodeKey = parseNodeKey(token);
  const pull = e.WORKER_MODE === 'pull';
  // A setting that cannot take effect is a mistake worth stopping for (a pull node never listens).
  const pushOnly = pull ? PUSH_ONLY.filter((name) => name in present) : [];
  if (pushOnly.length > 0)
    return {
      ok: false,
      errors: pushOnly.map(
        (name) =>
          `${name}: not used by a pull node (WORKER_MODE=pull), which never listens: unset it`,
      ),
    };
  const endpoint = new URL(e.WORKER_ENDPOINT);
  const port = pull
    ? 0
    : (e.WORKER_PORT ??
      (endpoint.port ? Number(endpoint.port) : endpoint.protocol === 'https:' ? 443 : 80));
  const workerId =
    e.WORKER_ID ??
    `${host.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 100) || 'node'}:${pull ? 'pull' : port}`;
  const idCheck = WorkerId.safeParse(workerId);
  if (!idCheck.success)
    return {
      ok: false,
      errors: [
        `WORKER_ID: the default ${JSON.stringify(workerId)} is not a valid id; set WORKER_ID`,
      ],
    };
  return {
    ok: true,
    config: {
      mode: e.WORKER_MODE,
      leaseWaitSec: e.LEASE_WAIT_SEC,
      prefetch: e.PREFETCH,
      apiUrl: e.API_URL,
      endpoint: pull ? '' : e.WORKER_ENDPOINT,
      port,
      bind: e.WORKER_BIND,
      workerId,
      binaryPath: e.EXECUTION_BINARY,
      wasmPath: e.WASM_RUNNER,
      capacity: e.WORKER_CAPACITY,
      token,
      keyId: nodeKey?.id ?? null,
      signingKey: nodeKey ? createHash('sha256').update(nodeKey.secret).digest('hex') : token,
      devToken: e.WORKER_TOKEN === undefined,
      queues: e.WORKER_QUEUES,
      types: e.WORKER_TYPES && e.WORKER_TYPES.length > 0 ? e.WORKER_TYPES : undefined,
      labels:
        e.WORKER_LABELS && Object.keys(e.WORKER_LABELS).length > 0 ? e.WORKER_LABELS : undefined,
      heartbeatIntervalMs: Math.round(e.HEARTBEAT_INTERVAL_SEC * 1000),
      drainTimeoutMs: Math.round(e.DRAIN_TIMEOUT_SEC * 1000),
      allowShell: e.ALLOW_SHELL,
      shellAllowlist: e.SHELL_ALLOWLIST,
      httpAllowlist:
        e.HTTP_JOB_ALLOWLIST && e.HTTP_JOB_ALLOWLIST.length > 0 ? e.HTTP_JOB_ALLOWLIST : undefined,
      httpAllowPrivate: e.HTTP_JOB_ALLOW_PRIVATE,
      logLevel: e.LOG_LEVEL,
    },
  };
}
