#!/usr/bin/env node
// `npm start` on a fresh clone: install the npm packages if missing, then hand over to
// scripts/stack.ts, which builds the native runner when cmake and a compiler are there (the node
// runs on the committed runner.wasm otherwise), validates the config, applies local D1 migrations
// and starts the API under wrangler dev with one local worker node. Plain JavaScript because tsx
// may not be installed yet. It installs no system package: that is scripts/setup.sh, for npm test.
import { existsSync } from 'node:fs';
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (
  !existsSync(join(root, 'node_modules', '.bin', 'wrangler')) ||
  !existsSync(join(root, 'node_modules', '.bin', 'tsx'))
) {
  console.log('> installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'scripts', 'stack.ts'), ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
// Ctrl-C reaches the whole process group, the stack included: it drains the node and stops wrangler.
// A SIGTERM sent to this process alone is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
