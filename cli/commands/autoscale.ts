/**
 * `autoscale`: keep the right number of worker nodes running on this machine, following the API's
 * advice. Every flag has an environment variable (commander reads it; the flag wins), so the same
 * settings work from a shell, a systemd unit or a container. cli/autoscale/ holds the parts.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient } from '../http';
import { buildConfig, DEFAULTS, type AutoscaleFlags } from '../autoscale/config';
import { runAutoscaler } from '../autoscale/supervisor';
import type { Ctx } from '../context';
import { parseInteger } from '../options';
import type { Runner } from '../program';

/** An integer in range; commander turns the throw into a usage error naming the flag. */
const ranged = (min: number, max: number) => (value: string) => {
  const n = parseInteger(value);
  if (n < min || n > max) throw new InvalidArgumentError(`must be ${min} to ${max}.`);
  return n;
};

const AFTER_HELP = `
How it decides:
  The API advises per queue (GET /stats autoscale_by_queue, or the signed scale webhook): how many
  workers it wants (desired_workers) against how many it sees (current_workers). This machine adds
  that difference to its own nodes, within MIN_WORKERS..min(MAX_WORKERS, --cap). A node is started
  when the advice asks for more, drained (SIGTERM) when it has asked for fewer for
  SCALE_DOWN_STABLE_SEC, and restarted with backoff (1 s doubling to 60 s) when it exits unasked.
  Nothing is decided on an advice the API made before this machine's last change was visible to it.

Nodes:
  Each node gets WORKER_ID=<prefix>-<slot>, WORKER_QUEUES, WORKER_MODE and API_URL (the --api-url,
  unless API_URL is set) and inherits the rest of the environment (WORKER_TOKEN, WORKER_CAPACITY,
  ...). Pull nodes (the default) need no port; push nodes get port <port-base>+<slot>-1 and
  WORKER_ENDPOINT=http://<endpoint-host>:<port>. Without --command the node is this checkout's
  worker node (node --import tsx worker-node/src/main.ts); a command is run with /bin/sh -c.

Output:
  One JSON line per action on stdout (scale_up, scale_down, restart, node_registered, node_crashed,
  node_exited, drain_overdue, advice, poll_failed); on a terminal, a live table instead (--plain
  for lines). A drain that outlasts --drain-timeout gets a second SIGTERM (the node's forced
  exit), then SIGKILL 10 s later.
  SIGINT or SIGTERM drains every node and exits 0 once all have exited; a second one forces them.

Examples:
  MIN_WORKERS=1 MAX_WORKERS=8 cloud autoscale
  cloud autoscale --min 2 --max 6 --cap 4 --queues default,batch --interval 2
  SCALE_WEBHOOK_SECRET=whsec_... cloud autoscale --listen 9200`;

export function registerAutoscale(program: Command, run: Runner): void {
  program
    .command('autoscale')
    .description(
      'run worker nodes on this machine, as many as the API advises, between MIN_WORKERS and MAX_WORKERS',
    )
    .addOption(
      new Option('--min <n>', 'nodes kept running here at least')
        .env('MIN_WORKERS')
        .default(DEFAULTS.minWorkers)
        .argParser(ranged(0, 10_000)),
    )
    .addOption(
      new Option('--max <n>', 'nodes run here at most')
        .env('MAX_WORKERS')
        .default(DEFAULTS.maxWorkers)
        .argParser(ranged(1, 10_000)),
    )
    .addOption(
      new Option('--cap <n>', "this machine's limit, whatever MAX_WORKERS says (default: its CPUs)")
        .env('AUTOSCALE_CAP')
        .argParser(ranged(1, 10_000)),
    )
    .addOption(
      new Option(
        '--scale-down-stable <sec>',
        'how long the advice must ask for fewer before a drain',
      )
        .env('SCALE_DOWN_STABLE_SEC')
        .default(DEFAULTS.scaleDownStableSec)
        .argParser(ranged(0, 86_400)),
    )
    .addOption(
      new Option(
        '--interval <sec>',
        `poll GET /stats this often (default ${DEFAULTS.intervalSec}; with --listen, only when given)`,
      )
        .env('AUTOSCALE_INTERVAL_SEC')
        .argParser(ranged(1, 3_600)),
    )
    .addOption(
      new Option(
        '--listen <[host:]port>',
        'take the advice from the signed scale webhook on this port (key: SCALE_WEBHOOK_SECRET)',
      ).env('AUTOSCALE_LISTEN'),
    )
    .addOption(
      new Option(
        '--queues <list>',
        'queues the nodes serve and whose advice counts, comma-separated',
      )
        .env('WORKER_QUEUES')
        .default('default'),
    )
    .addOption(
      new Option('--mode <mode>', 'pull (no port needed) or push')
        .env('WORKER_MODE')
        .choices(['pull', 'push'])
        .default('pull'),
    )
    .addOption(
      new Option('--port-base <port>', 'push nodes listen on this port and the ones after it')
        .env('AUTOSCALE_PORT_BASE')
        .default(DEFAULTS.portBase)
        .argParser(ranged(1, 65_535)),
    )
    .addOption(
      new Option('--endpoint-host <host>', 'the host the API reaches push nodes at')
        .env('AUTOSCALE_ENDPOINT_HOST')
        .default(DEFAULTS.endpointHost),
    )
    .addOption(
      new Option(
        '--id-prefix <prefix>',
        'node ids are <prefix>-1, <prefix>-2, ... (default: <hostname>-auto)',
      ).env('AUTOSCALE_ID_PREFIX'),
    )
    .addOption(
      new Option('--command <cmd>', 'start each node with this shell command instead').env(
        'AUTOSCALE_COMMAND',
      ),
    )
    .addOption(
      new Option('--node-logs <dir>', "append each node's output to <dir>/<node id>.log").env(
        'AUTOSCALE_NODE_LOGS',
      ),
    )
    .addOption(
      new Option('--start-timeout <sec>', 'a node not registered by then is taken as started')
        .env('AUTOSCALE_START_TIMEOUT_SEC')
        .default(DEFAULTS.startTimeoutSec)
        .argParser(ranged(1, 3_600)),
    )
    .addOption(
      new Option(
        '--drain-timeout <sec>',
        "force a node still draining after this long (keep it above the nodes' DRAIN_TIMEOUT_SEC)",
      )
        .env('AUTOSCALE_DRAIN_TIMEOUT_SEC')
        .default(DEFAULTS.drainTimeoutSec)
        .argParser(ranged(1, 86_400)),
    )
    .addOption(
      new Option('--plain', 'JSON log lines even on a terminal, instead of the live table').env(
        'AUTOSCALE_PLAIN',
      ),
    )
    .addHelpText('after', AFTER_HELP)
    .action(
      run(async (ctx: Ctx, flags: AutoscaleFlags) => {
        const config = buildConfig(flags, ctx.io.env);
        // Polls give up sooner than one-off commands: the next one is a few seconds away.
        const client = new ApiClient({ ...ctx.client.config, timeoutMs: 10_000 });
        const code = await runAutoscaler(config, client, {
          out: ctx.io.out,
          // This command owns the process (supervisor.ts): its terminal is the real stdout's.
          live: Boolean(process.stdout.isTTY) && !config.plain,
          env: ctx.io.env,
          now: ctx.io.now,
        });
        if (code !== 0) throw new Error('stopped before every node had exited');
      }),
    );
}
