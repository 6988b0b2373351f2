/** The entry point of `cloud` (bin/cloud.mjs loads this file): the real process streams, then exit. */
import { runCli } from './program';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // `cloud list | head` closes the pipe early: that is not an error of the command.
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// Ctrl-C while --wait draws its progress line: end the line so the shell prompt starts clean.
// A command that handles SIGINT itself (autoscale drains its nodes first) has its own listener.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') > 1) return;
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.exit(130);
});

process.exitCode = await runCli(process.argv.slice(2), {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  errIsTTY: Boolean(process.stderr.isTTY),
  columns: process.stderr.columns,
  env: process.env,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
