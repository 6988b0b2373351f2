/**
 * The settings of `cloud autoscale`, from its flags (each with an environment variable, which
 * commander reads: commands/autoscale.ts). What one flag can get wrong alone is refused by its
 * parser; what depends on several is checked here, before any node is started, and named.
 */
import { availableParallelism, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseSigningKey } from '../../src/core/standard-webhooks';
import { UsageError } from '../exit-codes';
import type { Policy } from './decide';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const DEFAULTS = {
  minWorkers: 1,
  maxWorkers: 4,
  scaleDownStableSec: 30,
  intervalSec: 5,
  portBase: 9100,
  endpointHost: 'localhost',
  startTimeoutSec: 60,
  restartBaseMs: 1_000,
  restartMaxMs: 60_000,
  stableRunMs: 60_000,
  drainTimeoutSec: 90,
} as const;

/** What commander hands the action: flags, env variables and defaults already merged. */
export interface AutoscaleFlags {
  min: number;
  max: number;
  cap?: number;
  scaleDownStable: number;
  interval?: number;
  listen?: string;
  queues: string;
  mode: 'pull' | 'push';
  portBase: number;
  endpointHost: string;
  idPrefix?: string;
  command?: string;
  nodeLogs?: string;
  startTimeout: number;
  drainTimeout: number;
  plain?: boolean;
}

export interface AutoscaleConfig {
  policy: Policy;
  /** Seconds between polls of GET /stats; null with --listen alone. */
  intervalSec: number | null;
  listen: { host: string; port: number } | null;
  /** For --listen: the SCALE_WEBHOOK_SECRET the events are verified with. */
  webhookSecret: string | null;
  queues: string[];
  mode: 'pull' | 'push';
  portBase: number;
  endpointHost: string;
  idPrefix: string;
  /** A shell command line, or null for the worker node of this checkout. */
  command: string | null;
  nodeLogs: string | null;
  plain: boolean;
}

/** `9000`, `127.0.0.1:9000` or `[::1]:9000`. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new UsageError(`--listen / AUTOSCALE_LISTEN: "${text}" is not [host:]port`);
  return { host: (m[1] ?? '0.0.0.0').replace(/^\[|\]$/g, ''), port };
}

const QUEUE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,100}$/;

export function buildConfig(
  f: AutoscaleFlags,
  env: Record<string, string | undefined>,
  machine = { cpus: availableParallelism(), host: hostname() },
): AutoscaleConfig {
  const cap = f.cap ?? machine.cpus;
  if (f.min > f.max)
    throw new UsageError(`MIN_WORKERS (${f.min}) must be <= MAX_WORKERS (${f.max})`);
  if (f.min > cap)
    throw new UsageError(
      `MIN_WORKERS (${f.min}) is more than this machine's cap (--cap / AUTOSCALE_CAP, ${cap})`,
    );
  const queues = f.queues
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const bad = queues.find((q) => !QUEUE.test(q));
  if (queues.length === 0 || bad !== undefined)
    throw new UsageError(`--queues / WORKER_QUEUES: "${bad ?? f.queues}" is not a queue name`);
  const idPrefix =
    f.idPrefix ?? `${machine.host.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 90) || 'node'}-auto`;
  if (!PREFIX.test(idPrefix))
    throw new UsageError(
      `--id-prefix / AUTOSCALE_ID_PREFIX: "${idPrefix}": letters, digits, "_", ".", ":" and "-"`,
    );
  if (f.mode === 'push' && f.portBase + cap - 1 > 65535)
    throw new UsageError(`--port-base / AUTOSCALE_PORT_BASE: ${f.portBase} + cap leaves 65535`);

  const listen = f.listen === undefined ? null : parseListen(f.listen);
  let webhookSecret: string | null = null;
  if (listen) {
    webhookSecret = env.SCALE_WEBHOOK_SECRET ?? null;
    if (!webhookSecret)
      throw new UsageError(
        '--listen needs SCALE_WEBHOOK_SECRET, the key the API signs events with',
      );
    const key = parseSigningKey(webhookSecret);
    if (!key.ok) throw new UsageError(`SCALE_WEBHOOK_SECRET: ${key.message}`);
  }
  // With --listen the events are the advice; polling as well only when asked for.
  const intervalSec = f.interval ?? (listen ? null : DEFAULTS.intervalSec);

  return {
    policy: {
      minWorkers: f.min,
      maxWorkers: Math.min(f.max, cap),
      scaleDownStableMs: f.scaleDownStable * 1000,
      startTimeoutMs: f.startTimeout * 1000,
      restartBaseMs: DEFAULTS.restartBaseMs,
      restartMaxMs: DEFAULTS.restartMaxMs,
      stableRunMs: DEFAULTS.stableRunMs,
      drainTimeoutMs: f.drainTimeout * 1000,
    },
    intervalSec,
    listen,
    webhookSecret,
    queues,
    mode: f.mode,
    portBase: f.portBase,
    endpointHost: f.endpointHost,
    idPrefix,
    command: f.command?.trim() || null,
    nodeLogs: f.nodeLogs || null,
    plain: Boolean(f.plain),
  };
}

/**
 * The environment of one node: this process's, plus its id, queues, mode and API, and for a push
 * node its own port and the URL the API reaches it at. A pull node refuses push-only variables, so
 * they are removed rather than inherited.
 */
export function nodeEnv(
  c: AutoscaleConfig,
  slot: number,
  id: string,
  apiUrl: string,
  base: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.WORKER_ID = id;
  env.WORKER_QUEUES = c.queues.join(',');
  env.WORKER_MODE = c.mode;
  env.API_URL = base.API_URL || apiUrl;
  delete env.WORKER_PORT;
  delete env.WORKER_ENDPOINT;
  delete env.WORKER_BIND;
  if (c.mode === 'push') {
    const port = c.portBase + slot - 1;
    env.WORKER_PORT = String(port);
    env.WORKER_ENDPOINT = `http://${c.endpointHost}:${port}`;
    if (base.WORKER_BIND) env.WORKER_BIND = base.WORKER_BIND;
  }
  return env;
}
