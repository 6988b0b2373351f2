/**
 * Structured logs: one JSON line per event (`event=job_submitted`, ...), the same names the worker
 * node uses. Secrets never go in: callers pass ids, never tokens.
 *
 * Lines below LOG_LEVEL are dropped. The level is a module global rather than an argument because
 * every isolate parses its config once (configOf in env.ts, which sets it) and the call sites, deep
 * in the Durable Objects, have no config at hand; before that parse the default, info, applies.
 */
// trace: a line per request; debug: a line per job transition; info: what an operator acts on.
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `level` defaults to info: most events are worth a line in production. */
export type LogFields = { event: string; level?: LogLevel; [key: string]: unknown };

let threshold = LOG_LEVELS.indexOf('info');

export function setLogLevel(level: LogLevel): void {
  threshold = LOG_LEVELS.indexOf(level);
}

export function log(fields: LogFields): void {
  const level = fields.level ?? 'info';
  if (LOG_LEVELS.indexOf(level) < threshold) return;
  console.log(JSON.stringify({ ts: new Date().toISOString(), ...fields, level }));
}
