/**
 * Structured logs: one JSON line per event (`event=job_submitted`, ...), the same names the worker
 * node uses. Secrets never go in: callers pass ids, never tokens.
 */
export type LogFields = { event: string; [key: string]: unknown };

export function log(fields: LogFields): void {
  console.log(JSON.stringify({ ts: new Date().toISOString(), ...fields }));
}
