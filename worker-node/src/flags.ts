/**
 * Command-line flags of `cloud-worker` (and `npm run worker --`): each setting of config.ts is also a
 * flag, `WORKER_QUEUES` as `--worker-queues`, and a flag wins over the variable. One table describes
 * them for --help, so the help, the README's table and the schema cannot list different settings
 * (test/unit/worker-node/flags.test.ts checks the table against the schema).
 */
import { SETTING_NAMES } from './config';

type Setting = (typeof SETTING_NAMES)[number];

/** [default as a person reads it, meaning]. */
export const SETTING_HELP: Record<Setting, [string, string]> = {
  WORKER_MODE: [
    'push',
    'push: the scheduler POSTs dispatches to the node; pull: the node long-polls',
  ],
  LEASE_WAIT_SEC: ['25', 'pull mode: how long one lease request waits for work (1-30)'],
  PREFETCH: [
    '1',
    'jobs leased beyond the slots, started when one frees (0-8; push nodes too from wire version 3)',
  ],
  API_URL: ['http://localhost:8787', 'the API the node registers with and reports to'],
  WORKER_ENDPOINT: ['http://localhost:9090', 'the URL the scheduler pushes dispatches to'],
  WORKER_PORT: ["the endpoint's port", 'port to listen on (differs behind a proxy)'],
  WORKER_BIND: ['all interfaces', 'address to listen on, e.g. 127.0.0.1'],
  WORKER_ID: ['hostname:port', "the node's id in the registry"],
  EXECUTION_BINARY: ['wasm-runner/build/runner', 'the native runner; unusable means wasm only'],
  WASM_RUNNER: ['wasm-runner/dist/runner.wasm', 'the WebAssembly runner'],
  WORKER_CAPACITY: ['1', 'jobs run at once (1-1024)'],
  WORKER_TOKEN: [
    'dev-worker-token (warned)',
    "the node's own key (nk_...) or the shared token: API credential, signature key",
  ],
  WORKER_TOKEN_FILE: ['none', 'a file holding WORKER_TOKEN instead (systemd LoadCredential=)'],
  WORKER_QUEUES: ['default', 'queues served (csv)'],
  WORKER_TYPES: ['every type', 'job types served (csv)'],
  WORKER_LABELS: ['none', 'key=value pairs (csv) shown in the registry'],
  HEARTBEAT_INTERVAL_SEC: ['5', "heartbeat period; the API's shorter interval wins"],
  DRAIN_TIMEOUT_SEC: ['30', 'how long SIGTERM waits for running jobs before handing them back'],
  ALLOW_SHELL: ['0', '1 enables the shell job type'],
  SHELL_ALLOWLIST: ['empty', 'programs shell jobs may run: names on PATH or absolute paths (csv)'],
  HTTP_JOB_ALLOWLIST: ['none', 'hosts, IPs or CIDRs http jobs may call; when set, nothing else'],
  HTTP_JOB_ALLOW_PRIVATE: ['0', '1 lets http jobs reach loopback and private addresses'],
  LOG_LEVEL: ['info', 'debug adds a line per heartbeat and registration retry'],
};

/** Settings that may be given as a bare flag, meaning 1. */
const SWITCHES = new Set<Setting>(['ALLOW_SHELL', 'HTTP_JOB_ALLOW_PRIVATE']);

export const flagOf = (name: string) => `--${name.toLowerCase().replace(/_/g, '-')}`;

export type Args =
  { help: true } | { help: false; env: Record<string, string> } | { error: string };

/** `--name value`, `--name=value`, or a bare switch; anything else is an error naming the argument. */
export function parseArgs(argv: string[]): Args {
  const byFlag = new Map(SETTING_NAMES.map((n) => [flagOf(n), n]));
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = byFlag.get(flag);
    if (!name) return { error: `unknown argument ${JSON.stringify(arg)} (see --help)` };
    if (eq > 0) env[name] = arg.slice(eq + 1);
    else if (SWITCHES.has(name) && (argv[i + 1] === undefined || argv[i + 1].startsWith('--')))
      env[name] = '1';
    else if (argv[i + 1] === undefined) return { error: `${flag} needs a value` };
    else env[name] = argv[++i];
  }
  return { help: false, env };
}

export function helpText(program: string): string {
  const rows = SETTING_NAMES.map((n) => [`${flagOf(n)}, ${n}`, ...SETTING_HELP[n]]);
  const width = Math.max(...rows.map((r) => r[0].length));
  return [
    `Usage: ${program} [--flag value ...]`,
    '',
    'A worker node of cloud: registers with the API, runs jobs, reports their results. Every',
    'setting is a flag or the environment variable beside it; a flag wins. SIGTERM drains.',
    '',
    ...rows.map(([name, def, meaning]) => `  ${name.padEnd(width)}  ${meaning} [${def}]`),
    `  ${'--help, -h'.padEnd(width)}  this text`,
    '',
    'Tracing, with the standard OpenTelemetry variables (from the environment only, see README):',
    "  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  export each job's spans [off]",
    '  OTEL_EXPORTER_OTLP_PROTOCOL  http/protobuf or http/json [http/protobuf]',
    '  OTEL_SERVICE_NAME  service.name of the spans [cloud-worker]',
    '',
  ].join('\n');
}
