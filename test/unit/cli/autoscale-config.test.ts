/** `cloud autoscale` settings: flags and environment, what is refused before any node starts, each node's env. */
import { describe, expect, it } from 'vitest';
import {
  buildConfig,
  nodeEnv,
  parseListen,
  type AutoscaleFlags,
} from '../../../cli/autoscale/config';
import { runCli } from '../../../cli/program';
import { fakeIo } from './fake-io';

const KEY = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const MACHINE = { cpus: 2, host: 'box.example' };
const flags = (o: Partial<AutoscaleFlags> = {}): AutoscaleFlags => ({
  min: 1,
  max: 4,
  scaleDownStable: 30,
  queues: 'default',
  mode: 'pull',
  portBase: 9100,
  endpointHost: 'localhost',
  startTimeout: 60,
  drainTimeout: 90,
  ...o,
});

describe('buildConfig', () => {
  it('defaults: the cap is the CPU count, polling every 5 s, ids from the host name', () => {
    const c = buildConfig(flags(), {}, MACHINE);
    expect(c.policy).toMatchObject({ minWorkers: 1, maxWorkers: 2, scaleDownStableMs: 30_000 });
    expect(c).toMatchObject({ intervalSec: 5, listen: null, idPrefix: 'box.example-auto' });
  });

  it('--cap above MAX_WORKERS: MAX_WORKERS is the bound', () => {
    expect(buildConfig(flags({ max: 3, cap: 8 }), {}, MACHINE).policy.maxWorkers).toBe(3);
  });

  it('--listen alone does not poll; with --interval it does both', () => {
    const env = { SCALE_WEBHOOK_SECRET: KEY };
    expect(buildConfig(flags({ listen: '9200' }), env, MACHINE)).toMatchObject({
      intervalSec: null,
      listen: { host: '0.0.0.0', port: 9200 },
      webhookSecret: KEY,
    });
    expect(buildConfig(flags({ listen: '9200', interval: 10 }), env, MACHINE).intervalSec).toBe(10);
  });

  it.each([
    [
      'MIN_WORKERS above MAX_WORKERS',
      flags({ min: 5, max: 4 }),
      {},
      /MIN_WORKERS \(5\) must be <= MAX_WORKERS \(4\)/,
    ],
    ['MIN_WORKERS above the cap', flags({ min: 3 }), {}, /--cap \/ AUTOSCALE_CAP, 2/],
    ['a bad queue name', flags({ queues: 'default,no space' }), {}, /WORKER_QUEUES: "no space"/],
    ['no queue at all', flags({ queues: ' , ' }), {}, /WORKER_QUEUES/],
    ['--listen without a key', flags({ listen: '9200' }), {}, /needs SCALE_WEBHOOK_SECRET/],
    [
      '--listen with a key not in whsec_ form',
      flags({ listen: '9200' }),
      { SCALE_WEBHOOK_SECRET: 'hunter2' },
      /SCALE_WEBHOOK_SECRET: must be whsec_/,
    ],
    ['a bad id prefix', flags({ idPrefix: '-x' }), {}, /AUTOSCALE_ID_PREFIX/],
  ])('refuses %s, naming it', (_, f, env, message) => {
    expect(() => buildConfig(f, env as Record<string, string>, MACHINE)).toThrow(message);
  });

  it.each([
    ['9200', { host: '0.0.0.0', port: 9200 }],
    ['127.0.0.1:9200', { host: '127.0.0.1', port: 9200 }],
    ['[::1]:9200', { host: '::1', port: 9200 }],
  ])('--listen %s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each(['', 'host:', '70000', 'a:b:c'])('--listen %j is refused', (text) => {
    expect(() => parseListen(text)).toThrow(/not \[host:\]port/);
  });
});

describe('nodeEnv', () => {
  const base = {
    WORKER_TOKEN: 'secret-token',
    WORKER_PORT: '9090',
    WORKER_ENDPOINT: 'http://x:9090',
    WORKER_BIND: '127.0.0.1',
    UNSET: undefined,
  };

  it('a pull node: its id, queues and mode, no push-only variable (the node would refuse them)', () => {
    const c = buildConfig(flags({ queues: 'a,b' }), {}, MACHINE);
    const env = nodeEnv(c, 2, 'box-2', 'http://api:8787', base);
    expect(env).toMatchObject({
      WORKER_ID: 'box-2',
      WORKER_QUEUES: 'a,b',
      WORKER_MODE: 'pull',
      API_URL: 'http://api:8787',
      WORKER_TOKEN: 'secret-token',
    });
    for (const k of ['WORKER_PORT', 'WORKER_ENDPOINT', 'WORKER_BIND', 'UNSET'])
      expect(env).not.toHaveProperty(k);
  });

  it('a push node: the port of its slot and the URL the API reaches it at', () => {
    const c = buildConfig(
      flags({ mode: 'push', portBase: 9300, endpointHost: '10.0.0.5' }),
      {},
      MACHINE,
    );
    expect(nodeEnv(c, 3, 'box-3', 'http://api:8787', base)).toMatchObject({
      WORKER_MODE: 'push',
      WORKER_PORT: '9302',
      WORKER_ENDPOINT: 'http://10.0.0.5:9302',
      WORKER_BIND: '127.0.0.1',
    });
  });

  it("the environment's API_URL wins over the CLI's", () => {
    const c = buildConfig(flags(), {}, MACHINE);
    expect(nodeEnv(c, 1, 'n', 'http://cli', { API_URL: 'http://internal' }).API_URL).toBe(
      'http://internal',
    );
  });
});

describe('cloud autoscale --help', () => {
  it('lists every flag with its environment variable', async () => {
    const io = fakeIo(() => new Error('no request expected'));
    expect(await runCli(['autoscale', '--help'], io)).toBe(0);
    const help = io.stdout.replace(/\s+/g, ' ');
    for (const [flag, env] of [
      ['--min', 'MIN_WORKERS'],
      ['--max', 'MAX_WORKERS'],
      ['--cap', 'AUTOSCALE_CAP'],
      ['--scale-down-stable', 'SCALE_DOWN_STABLE_SEC'],
      ['--interval', 'AUTOSCALE_INTERVAL_SEC'],
      ['--listen', 'AUTOSCALE_LISTEN'],
      ['--queues', 'WORKER_QUEUES'],
      ['--mode', 'WORKER_MODE'],
      ['--port-base', 'AUTOSCALE_PORT_BASE'],
      ['--endpoint-host', 'AUTOSCALE_ENDPOINT_HOST'],
      ['--id-prefix', 'AUTOSCALE_ID_PREFIX'],
      ['--command', 'AUTOSCALE_COMMAND'],
      ['--node-logs', 'AUTOSCALE_NODE_LOGS'],
      ['--start-timeout', 'AUTOSCALE_START_TIMEOUT_SEC'],
      ['--drain-timeout', 'AUTOSCALE_DRAIN_TIMEOUT_SEC'],
      ['--plain', 'AUTOSCALE_PLAIN'],
    ])
      expect(help).toMatch(new RegExp(`${flag} .*?env: ${env}\\)`));
    // Every option of the command is in that list: none without its variable.
    expect(help.match(/env: [A-Z_]+\)/g)).toHaveLength(16);
  });

  it('a flag out of range is a usage error naming it (exit 2), before anything starts', async () => {
    const io = fakeIo(() => new Error('no request expected'));
    expect(await runCli(['autoscale', '--max', '0'], io)).toBe(2);
    expect(io.stderr).toMatch(/--max <n>.*must be 1 to 10000/);
    // Commander reads the variables from the process environment itself.
    const saved = { min: process.env.MIN_WORKERS, max: process.env.MAX_WORKERS };
    Object.assign(process.env, { MIN_WORKERS: '9', MAX_WORKERS: '2' });
    try {
      const io2 = fakeIo(() => new Error('no request expected'));
      expect(await runCli(['autoscale'], io2)).toBe(2);
      expect(io2.stderr).toMatch(/MIN_WORKERS \(9\) must be <= MAX_WORKERS \(2\)/);
      // The flag wins over the variable.
      const io3 = fakeIo(() => new Error('no request expected'));
      expect(await runCli(['autoscale', '--max', '3', '--min', '4'], io3)).toBe(2);
      expect(io3.stderr).toMatch(/MIN_WORKERS \(4\) must be <= MAX_WORKERS \(3\)/);
    } finally {
      for (const [k, v] of [
        ['MIN_WORKERS', saved.min],
        ['MAX_WORKERS', saved.max],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });
});
