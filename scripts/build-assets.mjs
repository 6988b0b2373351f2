#!/usr/bin/env node
// `npm run build:assets`: the Worker's static assets (wrangler.toml [assets]) in dashboard/dist, built
// from dashboard/: the HTML, CSS and icon of public/ as they are, the dashboard's TypeScript bundled
// by esbuild into dashboard/app.js, the API reference's into docs/reference.js, and Scalar's
// standalone bundle from the @scalar/api-reference package as docs/scalar.js.
//
// wrangler runs it before `wrangler dev` and `wrangler deploy` ([build] in wrangler.toml), and
// vitest.config.ts before any test, so a fresh clone needs no extra step. Several can run at once
// (every e2e stack starts a wrangler dev, and each one watches dist): a file is written only when
// its bytes change, through a rename, so a second build leaves the first one's watchers untouched.
// Plain JavaScript so it runs with no TypeScript loader.
import { build } from 'esbuild';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const src = join(root, 'dashboard');
const out = join(src, 'dist');
const started = Date.now();

/** Every file under `dir`, as paths relative to it with forward slashes. */
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** The asset path (relative to dist) → its bytes. */
const assets = new Map();

for (const path of filesUnder(join(src, 'public')))
  assets.set(path, readFileSync(join(src, 'public', path)));

const { outputFiles } = await build({
  entryPoints: {
    'dashboard/app': join(src, 'src/main.ts'),
    'docs/reference': join(src, 'src/reference.ts'),
  },
  outdir: out,
  write: false,
  bundle: true,
  format: 'iife',
  target: 'es2020',
  tsconfig: join(src, 'tsconfig.json'),
  // Not minified: the page's script stays readable in the browser's developer tools.
  legalComments: 'inline',
  logLevel: 'warning',
});
for (const f of outputFiles) assets.set(relative(out, f.path).split('\\').join('/'), f.contents);

const require = createRequire(import.meta.url);
assets.set(
  'docs/scalar.js',
  readFileSync(require.resolve('@scalar/api-reference/browser/standalone.js')),
);

let written = 0;
for (const [path, bytes] of assets) {
  const file = join(out, path);
  if (existsSync(file) && Buffer.compare(readFileSync(file), Buffer.from(bytes)) === 0) continue;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  written++;
}
// A file removed or renamed in dashboard/ leaves dist too, rather than being served on.
let removed = 0;
for (const path of filesUnder(out))
  if (!assets.has(path) && !path.endsWith('.tmp')) {
    rmSync(join(out, path));
    removed++;
  }

console.log(
  `assets: ${assets.size} files in ${relative(root, out)} (${written} written, ${removed} removed) ` +
    `in ${Date.now() - started} ms`,
);
