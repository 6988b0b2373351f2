/**
 * The worker node's systemd unit (worker-node/packaging/cloud-worker.service) passes
 * `systemd-analyze verify`, and keeps the settings a draining stop depends on. verify insists that
 * ExecStart exists, so the copy checked here points it at a stand-in executable (test/e2e/install
 * verifies it again with a really installed `cloud-worker`). Without systemd-analyze this fails
 * under CI=true (scripts/setup.sh installs it) and is skipped elsewhere, e.g. on macOS.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const UNIT_PATH = new URL('../../../worker-node/packaging/cloud-worker.service', import.meta.url);
const UNIT = readFileSync(UNIT_PATH, 'utf8');
const ANALYZE = 'systemd-analyze';
const present = !spawnSync(ANALYZE, ['--version']).error;

/** Runs `systemd-analyze verify` on the unit with ExecStart at `executable`. */
function verifyUnit(executable: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cloud-unit-'));
  try {
    const unit = join(dir, 'cloud-worker.service');
    writeFileSync(unit, UNIT.replace(/^ExecStart=\S+/m, `ExecStart=${executable}`));
    const r = spawnSync(ANALYZE, ['verify', '--man=no', unit], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('systemd unit', () => {
  it.skipIf(!present && process.env.CI !== 'true')('passes systemd-analyze verify', () => {
    if (!present) throw new Error(`no ${ANALYZE}: run npm run setup (apt-get install systemd)`);
    const dir = mkdtempSync(join(tmpdir(), 'cloud-bin-'));
    const stub = join(dir, 'cloud-worker');
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
    const r = verifyUnit(stub);
    rmSync(dir, { recursive: true, force: true });
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('drains on stop, restarts on failure and reads the token from a credential', () => {
    const settings = UNIT.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
    expect(settings).toEqual(
      expect.arrayContaining([
        'KillMode=mixed',
        'KillSignal=SIGTERM',
        'Restart=on-failure',
        'LoadCredential=worker-token:/etc/cloud-worker/token',
        'Environment=WORKER_TOKEN_FILE=%d/worker-token',
      ]),
    );
    // The stop timeout outlasts the node's default drain (DRAIN_TIMEOUT_SEC=30) with room to report.
    expect(Number(/^TimeoutStopSec=(\d+)$/m.exec(UNIT)?.[1])).toBeGreaterThanOrEqual(60);
    expect(UNIT).not.toMatch(/^Environment=WORKER_TOKEN=/m);
  });
});
