/**
 * What every command gets: the API client built from flags and environment, whether to print JSON,
 * and the streams to print to. Commands never touch `process` directly, so tests can run them with
 * a fake fetch and capture what they print.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ApiClient, type ClientConfig } from './http';
import { UsageError } from './exit-codes';

export const DEFAULT_API_URL = 'http://localhost:8787';

export interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
  json?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: the --wait progress line is redrawn in place instead of appended. */
  errIsTTY: boolean;
  /** Width of that terminal, when it is one. */
  columns?: number;
  env: Record<string, string | undefined>;
  now(): number;
  sleep(ms: number): Promise<void>;
  fetch?: typeof fetch;
}

export interface Ctx {
  client: ApiClient;
  json: boolean;
  io: Io;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Flags win over the environment; the admin token falls back to .dev.vars only for a local API. */
export function resolveConfig(
  opts: GlobalOptions,
  env: Io['env'],
  devVars: () => string | undefined = readDevVarsAdminToken,
): ClientConfig {
  const apiUrl = opts.apiUrl ?? env.CLOUD_API_URL ?? DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new UsageError(`--api-url / CLOUD_API_URL: not a URL: ${apiUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--api-url / CLOUD_API_URL: must be http or https, got ${url.protocol}`);
  const apiKey = opts.apiKey ?? (env.CLOUD_API_KEY || undefined);
  const adminToken = env.CLOUD_ADMIN_TOKEN || (LOOPBACK.has(url.hostname) ? devVars() : undefined);
  return { apiUrl, apiKey, adminToken };
}

/** The quick start's local admin token (npm start writes .dev.vars), so `cloud keys` works locally without setup. */
function readDevVarsAdminToken(): string | undefined {
  const file = new URL('../.dev.vars', import.meta.url);
  if (!existsSync(file)) return undefined;
  return /^ADMIN_TOKEN=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
}

export function makeCtx(opts: GlobalOptions, io: Io): Ctx {
  return {
    client: new ApiClient({ ...resolveConfig(opts, io.env), fetch: io.fetch }),
    json: Boolean(opts.json),
    io,
  };
}

/** `--json`: the API's answer as it is, one document on stdout. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
