/**
 * The `cloud` command line: global flags, the commands, and `runCli`, which turns any outcome into
 * an exit code (exit-codes.ts). Nothing here touches `process`: main.ts supplies the real streams,
 * tests supply their own.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DEFAULT_API_URL, makeCtx, type Ctx, type GlobalOptions, type Io } from './context';
import { describeError, EXIT_CODES_HELP, exitCodeFor, type ExitCode } from './exit-codes';
import { registerAutoscale } from './commands/autoscale';
import { registerBulk } from './commands/bulk';
import { registerJobCommands } from './commands/jobs';
import { registerEdit } from './commands/edit';
import { registerKeys } from './commands/keys';
import { registerNodeKeys } from './commands/node-keys';
import { registerSchedules } from './commands/schedules';
import { registerStats } from './commands/stats';
import { registerQueues } from './commands/queues';
import { registerSubmit } from './commands/submit';
import { registerWorkers } from './commands/workers';

// Commander hands an action its arguments, then its options, then the command itself.
// Their types vary by command, so `any`: each action declares its own parameters.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type Runner = (
  fn: (ctx: Ctx, ...args: any[]) => Promise<void>,
) => (...args: any[]) => Promise<void>;
/* eslint-enable @typescript-eslint/no-explicit-any */

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const ENVIRONMENT_HELP = `Environment:
  CLOUD_API_URL      the API (default ${DEFAULT_API_URL}); --api-url overrides it
  CLOUD_API_KEY      an API key, sent as Authorization: Bearer; --api-key overrides it
  CLOUD_ADMIN_TOKEN  the API's ADMIN_TOKEN, for \`cloud keys\` and \`cloud node-keys\` (for a local API, .dev.vars is read)`;

const EXAMPLES_HELP = `Examples:
  cloud submit '{"limit":10000000}' --type primes --wait
  cloud list --status failed --limit 10
  cloud bulk --action cancel --status queued --queue batch --wait
  cloud get default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q --json | jq .job.result`;

export function buildProgram(io: Io): Command {
  const program = new Command('cloud');
  // Settings first: commander copies them into each command as it is created.
  program
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(add --help for usage)');

  program
    .description(
      'The command line of cloud, the edge-native job scheduler: submit and follow jobs, see nodes, manage schedules and keys.',
    )
    .version(VERSION, '-V, --version')
    .option(
      '--api-url <url>',
      'the API base URL (default CLOUD_API_URL, else http://localhost:8787)',
    )
    .option('--api-key <key>', 'API key sent as Bearer (default CLOUD_API_KEY)')
    .option('--json', 'print the API answer as one JSON document on stdout')
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n\n${EXAMPLES_HELP}`);

  const run: Runner =
    (fn) =>
    async (...args) => {
      const cmd = args[args.length - 1] as Command;
      await fn(makeCtx(cmd.optsWithGlobals<GlobalOptions>(), io), ...args.slice(0, -1));
    };

  registerSubmit(program, run);
  registerJobCommands(program, run);
  registerEdit(program, run);
  registerBulk(program, run);
  registerWorkers(program, run);
  registerSchedules(program, run);
  registerQueues(program, run);
  registerKeys(program, run);
  registerNodeKeys(program, run);
  registerStats(program, run);
  registerAutoscale(program, run);
  return program;
}

/** Runs one command line (without `node` and the script) and returns its exit code. */
export async function runCli(argv: string[], io: Io): Promise<ExitCode> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    // Commander has already printed its own message (or the help) on the way out.
    if (!(err instanceof CommanderError)) io.err(`cloud: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}
