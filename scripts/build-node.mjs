#!/usr/bin/env node
// `npm run build:node [-- --out DIR]`: the worker node as one artefact a user copies to a machine
// and installs with `npm install -g ./cloud-worker-<version>.tgz`. The package holds the node bundled
// into one file by esbuild (its only runtime dependencies, zod and the protocol schemas, inside it,
// so installing fetches nothing), the committed runner.wasm, and the runner's C++ sources with the
// vendored nlohmann/json for the native build its postinstall runs where cmake and a compiler exist
// (worker-node/packaging/build-runner.mjs). The layout mirrors the repository's (worker-node/src,
// wasm-runner/...), so the node's default paths, resolved from its own file, hold in both.
// Plain JavaScript so it runs with no TypeScript loader; prints the tarball's path and size.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const at = process.argv.indexOf('--out');
const out = resolve(at > 0 ? process.argv[at + 1] : join(root, 'worker-node', 'dist'));
const pkg = join(out, 'cloud-worker');
const { version, license, engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg, { recursive: true });

const { metafile } = await build({
  entryPoints: [join(root, 'worker-node/src/main.ts')],
  outfile: join(pkg, 'worker-node/src/main.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Readable in a stack trace on a user's machine; whitespace and syntax only.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none', // the notices file below carries each bundled package's whole licence
  metafile: true,
  logLevel: 'warning',
});

// The bundle holds other people's code (zod, hono, ...): ship each package's licence with it.
const bundled = new Set(
  Object.keys(metafile.inputs)
    .map((f) => /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1])
    .filter(Boolean),
);
const notices = [...bundled].sort().map((dir) => {
  const {
    name,
    version: v,
    license: l,
  } = JSON.parse(readFileSync(join(root, dir, 'package.json')));
  const file = readdirSync(join(root, dir)).find((f) => /^licen[cs]e/i.test(f));
  const text = file ? readFileSync(join(root, dir, file), 'utf8').trim() : `License: ${l}`;
  return `## ${name} ${v} (${l})\n\n${text}\n`;
});
writeFileSync(
  join(pkg, 'THIRD_PARTY_NOTICES.md'),
  `# Packages bundled into worker-node/src/main.mjs\n\n${notices.join('\n')}`,
);

const copy = (from, to = from) => cpSync(join(root, from), join(pkg, to), { recursive: true });
copy('worker-node/src/executors/wasm-thread.mjs', 'worker-node/src/wasm-thread.mjs');
copy('worker-node/packaging/cloud-worker.mjs', 'bin/cloud-worker.mjs');
copy('worker-node/packaging/build-runner.mjs', 'bin/build-runner.mjs');
copy('worker-node/packaging/cloud-worker.service', 'cloud-worker.service');
copy('worker-node/README.md', 'README.md');
copy('LICENSE');
copy('wasm-runner/dist/runner.wasm');
copy('wasm-runner/CMakeLists.txt');
copy('wasm-runner/src');
copy('wasm-runner/tests/runner_tests.cpp'); // CMakeLists declares the test target too
copy('wasm-runner/third_party/nlohmann-json/include');
copy('wasm-runner/third_party/nlohmann-json/LICENSE.MIT');

writeFileSync(
  join(pkg, 'package.json'),
  `${JSON.stringify(
    {
      name: 'cloud-worker',
      version,
      description: 'A self-hosted worker node of cloud, the edge-native job scheduler',
      license,
      type: 'module',
      engines,
      bin: { 'cloud-worker': 'bin/cloud-worker.mjs' },
      scripts: { postinstall: 'node bin/build-runner.mjs' },
    },
    null,
    2,
  )}\n`,
);

const packed = spawnSync('npm', ['pack', '--pack-destination', out, '--json'], {
  cwd: pkg,
  encoding: 'utf8',
});
if (packed.status !== 0) {
  process.stderr.write(packed.stderr);
  process.exit(1);
}
const [{ filename, unpackedSize }] = JSON.parse(packed.stdout);
const tgz = join(out, filename);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
process.stdout.write(
  `${tgz}\n${kib(statSync(tgz).size)} packed, ${kib(unpackedSize)} installed before the native build\n`,
);
