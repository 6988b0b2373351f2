/**
 * Structured logs: one JSON object per line on stdout, `event` first, so `grep`, `jq` and the e2e
 * harness can all read them. Fields that could carry a secret are dropped here, once, rather than
 * trusting every call site to remember.
 */

export type LogFields = Record<string, unknown>;
export type Log = (event: string, fields?: LogFields) => void;

export interface Logger {
  info: Log;
  warn: Log;
  error: Log;
  /** Chatty events (every heartbeat): only written with LOG_LEVEL=debug. */
  debug: Log;
  /** A logger that adds `fields` to every line (the worker id). */
  with(fields: LogFields): Logger;
}

// Lease tokens are capabilities too: with the worker token they let a caller report a result.
const SECRET_KEY = /token|secret|password|authorization|api_?key/i;

export function createLogger(
  opts: { level?: 'debug' | 'info'; base?: LogFields; write?: (line: string) => void } = {},
): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const base = opts.base ?? {};
  const emit =
    (level: string) =>
    (event: string, fields: LogFields = {}) => {
      const line: LogFields = { event, level, ts: new Date().toISOString(), ...base };
      for (const [k, v] of Object.entries(fields))
        if (!SECRET_KEY.test(k) && v !== undefined) line[k] = v;
      write(JSON.stringify(line));
    };
  const noop: Log = () => {};
  return {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    debug: opts.level === 'debug' ? emit('debug') : noop,
    with: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** An Error's message without its stack, trimmed: stored and logged failure text stays short. */
export function errorMessage(err: unknown, max = 500): string {
  const text =
    err instanceof Error
      ? err.cause instanceof Error
        ? `${err.message}: ${err.cause.message}`
        : err.message
      : String(err);
  return text.length > max ? text.slice(0, max) + '…' : text;
}
