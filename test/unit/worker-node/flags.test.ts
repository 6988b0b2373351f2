/** `cloud-worker --help` and its flags (worker-node/src/flags.ts), and WORKER_TOKEN_FILE. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, SETTING_NAMES } from '../../../worker-node/src/config';
import { flagOf, helpText, parseArgs } from '../../../worker-node/src/flags';

const dir = mkdtempSync(join(tmpdir(), 'cloud-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flags', () => {
  it('--help lists every setting as a flag and as its environment variable', () => {
    const help = helpText('cloud-worker');
    expect(help).toMatch(/^Usage: cloud-worker /);
    for (const name of SETTING_NAMES) expect(help).toContain(`${flagOf(name)}, ${name} `);
    expect(flagOf('WORKER_QUEUES')).toBe('--worker-queues');
  });

  it.each([
    [['--help'], { help: true }],
    [['-h', '--bogus'], { help: true }],
    [
      ['--api-url', 'http://api:8787', '--worker-capacity=4', '--allow-shell'],
      { help: false, env: { API_URL: 'http://api:8787', WORKER_CAPACITY: '4', ALLOW_SHELL: '1' } },
    ],
    [['--allow-shell', '0'], { help: false, env: { ALLOW_SHELL: '0' } }],
    [['--bogus'], { error: 'unknown argument "--bogus" (see --help)' }],
    [['--worker-id'], { error: '--worker-id needs a value' }],
  ])('%j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });
});

describe('WORKER_TOKEN_FILE', () => {
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads the token from the file, without its trailing newline', () => {
    const r = loadConfig({ WORKER_TOKEN_FILE: file('token', 'a-long-secret-token\n') }, 'box');
    expect(r).toMatchObject({
      ok: true,
      config: { token: 'a-long-secret-token', devToken: false },
    });
  });

  it('takes a node key from the file: the Bearer credential, and its SHA-256 as the signing key', () => {
    const secret = 'A'.repeat(43);
    const key = `nk_abcdefghijkm_${secret}`;
    const r = loadConfig({ WORKER_TOKEN_FILE: file('node-key', `${key}\n`) }, 'box');
    expect(r).toMatchObject({
      ok: true,
      config: {
        token: key,
        keyId: 'abcdefghijkm',
        signingKey: createHash('sha256').update(secret).digest('hex'),
        devToken: false,
      },
    });
    // The shared token signs with itself.
    expect(loadConfig({ WORKER_TOKEN: 'a-long-secret-token' }, 'box')).toMatchObject({
      config: { keyId: null, signingKey: 'a-long-secret-token' },
    });
    const cut = loadConfig({ WORKER_TOKEN: key.slice(0, -1) }, 'box');
    expect(cut.ok ? [] : cut.errors).toEqual([
      expect.stringMatching(/^WORKER_TOKEN: starts like a node key \(nk_\) but is not one/),
    ]);
  });

  it('refuses a missing or short file, and both settings at once, naming the variable', () => {
    const errors = (env: Record<string, string>) => {
      const r = loadConfig(env, 'box');
      return r.ok ? [] : r.errors;
    };
    expect(errors({ WORKER_TOKEN_FILE: join(dir, 'nope') })[0]).toMatch(
      /^WORKER_TOKEN_FILE: cannot read .*nope/,
    );
    expect(errors({ WORKER_TOKEN_FILE: file('short', 'abc') })[0]).toMatch(
      /^WORKER_TOKEN_FILE: the file's token must be at least 8 characters/,
    );
    expect(
      errors({ WORKER_TOKEN: 'a-long-secret-token', WORKER_TOKEN_FILE: file('t2', 'x'.repeat(9)) }),
    ).toEqual(['WORKER_TOKEN_FILE: set it or WORKER_TOKEN, not both']);
  });
});
