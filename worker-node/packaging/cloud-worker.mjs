#!/usr/bin/env node
// `cloud-worker`: the installed worker node. Builds the native runner first when the package's
// postinstall did not (build-runner.mjs), then runs the bundled node (worker-node/src/main.mjs),
// which reads its flags and environment. The node's exit codes and signals are its own: this file
// runs in the same process, so a SIGTERM from systemd reaches the node directly.
import { buildRunner } from './build-runner.mjs';

const args = process.argv.slice(2);
process.env.CLOUD_WORKER_PROGRAM ??= 'cloud-worker';
// An operator's own EXECUTION_BINARY, or --help, needs no build.
const own = process.env.EXECUTION_BINARY || args.some((a) => a.startsWith('--execution-binary'));
if (!args.includes('--help') && !args.includes('-h') && !own) buildRunner();
await import('../worker-node/src/main.mjs');
