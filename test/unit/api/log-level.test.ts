/**
 * LOG_LEVEL: accepted in any case by the config parse, and honoured by the API's log (src/log.ts).
 * The log is checked in a child process reading its real stdout, because the level is a module
 * global that configOf sets once per isolate, as the Worker does.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/env';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Runs `body` as an ES module with src/env.ts and src/log.ts imported; returns its JSON lines. */
function logLines(body: string, env: Record<string, string> = {}): Record<string, unknown>[] {
  const script = `import { configOf } from './src/env.ts';\nimport { log } from './src/log.ts';\n${body}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const EVENTS = `
log({ level: 'trace', event: 'request' });
log({ level: 'debug', event: 'chatty' });
log({ event: 'plain' });
log({ level: 'warn', event: 'odd' });
log({ level: 'error', event: 'bad' });
`;

describe('LOG_LEVEL', () => {
  it.each([
    ['Trace', 'trace'],
    ['DEBUG', 'debug'],
    ['Info', 'info'],
    ['warn', 'warn'],
    ['ERROR', 'error'],
  ])('accepts %s as %s', (given, level) => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token', LOG_LEVEL: given });
    expect(r.ok && r.config.LOG_LEVEL).toBe(level);
  });

  it('defaults to info and refuses a level it does not know, naming the variable', () => {
    const r = parseConfig({ WORKER_TOKEN: 'a-long-token' });
    expect(r.ok && r.config.LOG_LEVEL).toBe('info');
    const bad = parseConfig({ WORKER_TOKEN: 'a-long-token', LOG_LEVEL: 'verbose' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.map((p) => p.variable)).toEqual(['LOG_LEVEL']);
  });

  it('drops debug lines at the default level, info', () => {
    const lines = logLines(`configOf({ WORKER_TOKEN: 'a-long-token' });${EVENTS}`);
    expect(lines.map((l) => l.event)).toEqual(['plain', 'odd', 'bad']);
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'error']);
  });

  it('writes debug lines once the config says LOG_LEVEL=DEBUG', () => {
    const lines = logLines(
      `configOf({ WORKER_TOKEN: 'a-long-token', LOG_LEVEL: 'DEBUG' });${EVENTS}`,
    );
    expect(lines.map((l) => l.event)).toEqual(['chatty', 'plain', 'odd', 'bad']);
  });

  it('adds the per-request trace lines at LOG_LEVEL=trace, below debug', () => {
    const lines = logLines(
      `configOf({ WORKER_TOKEN: 'a-long-token', LOG_LEVEL: 'trace' });${EVENTS}`,
    );
    expect(lines.map((l) => l.event)).toEqual(['request', 'chatty', 'plain', 'odd', 'bad']);
  });

  it('keeps only errors at LOG_LEVEL=error', () => {
    const lines = logLines(
      `configOf({ WORKER_TOKEN: 'a-long-token', LOG_LEVEL: 'error' });${EVENTS}`,
    );
    expect(lines.map((l) => l.event)).toEqual(['bad']);
  });

  it('lets npm start pass its config check with LOG_LEVEL=DEBUG', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-config.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'DEBUG' },
    });
    expect(r.stderr).not.toContain('refusing to start');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).overrides).toEqual({ LOG_LEVEL: 'DEBUG' });
  });
});
