#!/usr/bin/env node
// `npm run lint`: `prettier --check .` and `eslint .` side by side. ESLint's typed rules build one
// TypeScript program of the whole tree (about 30 s of CPU); prettier needs about 10 s. Run one
// after the other they came near CI's 50 s budget for lint, run together they take the longer of
// the two. Both always finish, so one run reports every problem; the exit code is the worse one.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args) {
  return new Promise((resolve) => {
    const out = [];
    const child = spawn(bin(cmd), args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('error', (err) => resolve({ cmd, code: 1, text: `${err.message}\n` }));
    child.on('close', (code) =>
      resolve({ cmd, code: code ?? 1, text: Buffer.concat(out).toString() }),
    );
  });
}

const started = Date.now();
// Output is held back and printed whole, one tool after the other, so the two never interleave.
const results = await Promise.all([run('prettier', ['--check', '.']), run('eslint', ['.'])]);
for (const r of results) {
  if (r.text.trim()) process.stdout.write(r.text.endsWith('\n') ? r.text : `${r.text}\n`);
  console.log(`${r.code === 0 ? 'ok' : 'x'} ${r.cmd} (exit ${r.code})`);
}
console.log(`lint took ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(Math.max(...results.map((r) => r.code)));
