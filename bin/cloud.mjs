#!/usr/bin/env node
// `npx cloud ...` (the "bin" of package.json): load the TypeScript CLI through tsx's API, so the
// source runs as it is on a fresh clone after `npm ci`, with no build step. tsImport scopes the
// TypeScript loader to this import instead of registering it for the whole process.
import { tsImport } from 'tsx/esm/api';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  process.stderr.write(
    `cloud: Node.js 20.6 or later is required (this is ${process.versions.node})\n`,
  );
  process.exit(2);
}

await tsImport('../cli/main.ts', import.meta.url);
