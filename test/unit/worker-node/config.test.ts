import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../../worker-node/src/config';

const ok = (env: Record<string, string>) => {
  const r = loadConfig(env, 'box');
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
};
const errors = (env: Record<string, string>) => {
  const r = loadConfig(env, 'box');
  if (r.ok) throw new Error('expected a configuration error');
  return r.errors;
};

describe('worker node config', () => {
  it('has working defaults for a local run', () => {
    const c = ok({});
    expect(c).toMatchObject({
      apiUrl: 'http://localhost:8787',
      endpoint: 'http://localhost:9090',
      port: 9090,
      workerId: 'box:9090',
      capacity: 1,
      token: DEFAULTS.WORKER_TOKEN,
      devToken: true,
      queues: ['default'],
      heartbeatIntervalMs: 5000,
      drainTimeoutMs: 30_000,
      allowShell: false,
      shellAllowlist: [],
      httpAllowPrivate: false,
    });
    expect(c.binaryPath).toMatch(/wasm-runner\/build\/runner$/);
    expect(c.wasmPath).toMatch(/wasm-runner\/dist\/runner\.wasm$/);
    expect(c.types).toBeUndefined();
  });

  it('parses every variable', () => {
    const c = ok({
      API_URL: 'https://api.example.com/',
      WORKER_ENDPOINT: 'https://node-7.example.com',
      WORKER_ID: 'node-7',
      WORKER_CAPACITY: '4',
      WORKER_TOKEN: 's3cret-s3cret',
      WORKER_QUEUES: 'default, emails',
      WORKER_TYPES: 'echo,sleep,http',
      WORKER_LABELS: 'zone=eu-west, gpu=none',
      HEARTBEAT_INTERVAL_SEC: '0.5',
      DRAIN_TIMEOUT_SEC: '0',
      ALLOW_SHELL: '1',
      SHELL_ALLOWLIST: 'echo,/usr/bin/env',
      HTTP_JOB_ALLOWLIST: 'hooks.example.com,10.0.0.0/8',
      HTTP_JOB_ALLOW_PRIVATE: 'true',
    });
    expect(c).toMatchObject({
      apiUrl: 'https://api.example.com',
      port: 443,
      workerId: 'node-7',
      capacity: 4,
      devToken: false,
      queues: ['default', 'emails'],
      types: ['echo', 'sleep', 'http'],
      labels: { zone: 'eu-west', gpu: 'none' },
      heartbeatIntervalMs: 500,
      drainTimeoutMs: 0,
      allowShell: true,
      shellAllowlist: ['echo', '/usr/bin/env'],
      httpAllowlist: ['hooks.example.com', '10.0.0.0/8'],
      httpAllowPrivate: true,
    });
  });

  it('WORKER_PORT overrides the endpoint port (a node behind a proxy)', () => {
    expect(ok({ WORKER_ENDPOINT: 'http://proxy:80', WORKER_PORT: '9191' })).toMatchObject({
      port: 9191,
      workerId: 'box:9191',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(ok({ WORKER_CAPACITY: '', WORKER_TOKEN: '' })).toMatchObject({
      capacity: 1,
      devToken: true,
    });
  });

  // Each bad value must produce a message that starts with the variable's name.
  it.each([
    ['API_URL', 'localhost:8787'],
    ['API_URL', 'ftp://x'],
    ['WORKER_ENDPOINT', 'nope'],
    ['WORKER_PORT', '70000'],
    ['WORKER_PORT', 'abc'],
    ['WORKER_ID', 'has space'],
    ['WORKER_CAPACITY', '0'],
    ['WORKER_CAPACITY', '1.5'],
    ['WORKER_TOKEN', 'short'],
    ['WORKER_QUEUES', 'Bad Queue'],
    ['WORKER_QUEUES', ' , '],
    ['WORKER_TYPES', 'Echo'],
    ['WORKER_LABELS', 'novalue'],
    ['HEARTBEAT_INTERVAL_SEC', '0'],
    ['HEARTBEAT_INTERVAL_SEC', 'soon'],
    ['DRAIN_TIMEOUT_SEC', '-1'],
    ['ALLOW_SHELL', 'yes'],
    ['HTTP_JOB_ALLOWLIST', '10.0.0.0/99'],
    ['HTTP_JOB_ALLOW_PRIVATE', '2'],
    ['LOG_LEVEL', 'trace'],
  ])('%s=%s is refused with a message naming it', (name, value) => {
    const errs = errors({ [name]: value });
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]).toMatch(new RegExp(`^${name}: `));
  });

  it('reports every bad variable at once', () => {
    const errs = errors({ WORKER_CAPACITY: 'x', API_URL: 'y' });
    expect(errs.map((e) => e.split(':')[0]).sort()).toEqual(['API_URL', 'WORKER_CAPACITY']);
  });

  it('a real node process exits 1 naming the bad variable, before doing any work', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'worker-node/src/main.ts'], {
      env: { ...process.env, WORKER_CAPACITY: 'lots', HEARTBEAT_INTERVAL_SEC: '-3' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('WORKER_CAPACITY');
    expect(r.stderr).toContain('HEARTBEAT_INTERVAL_SEC');
    expect(r.stdout).not.toContain('worker_registered');
  });
});
