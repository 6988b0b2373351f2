import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../worker-node/src/config';

describe('worker node config: pull mode', () => {
  it('is push by default, with the default lease wait', () => {
    const r = loadConfig({}, 'box');
    expect(r.ok && r.config).toMatchObject({
      mode: 'push',
      leaseWaitSec: 25,
      endpoint: 'http://localhost:9090',
      port: 9090,
    });
  });

  it('WORKER_MODE=pull needs no endpoint or port, and names itself host:pull', () => {
    const r = loadConfig({ WORKER_MODE: 'pull', LEASE_WAIT_SEC: '10' }, 'box');
    expect(r.ok && r.config).toMatchObject({
      mode: 'pull',
      leaseWaitSec: 10,
      endpoint: '',
      port: 0,
      workerId: 'box:pull',
    });
  });

  it.each(['WORKER_ENDPOINT', 'WORKER_PORT', 'WORKER_BIND'])(
    'refuses %s on a pull node, naming it',
    (name) => {
      const value = {
        WORKER_ENDPOINT: 'http://node:9090',
        WORKER_PORT: '9090',
        WORKER_BIND: '127.0.0.1',
      }[name]!;
      const r = loadConfig({ WORKER_MODE: 'pull', [name]: value }, 'box');
      expect(r.ok).toBe(false);
      expect(!r.ok && r.errors).toEqual([
        `${name}: not used by a pull node (WORKER_MODE=pull), which never listens: unset it`,
      ]);
    },
  );

  it.each([
    ['WORKER_MODE', 'poll'],
    ['LEASE_WAIT_SEC', '31'],
    ['LEASE_WAIT_SEC', '0'],
    ['LEASE_WAIT_SEC', 'soon'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    const r = loadConfig({ [name]: value }, 'box');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.join('\n')).toMatch(new RegExp(`^${name}: `));
  });
});
