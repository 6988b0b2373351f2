/**
 * `npm run worker` (`cloud-worker` once installed): boot a worker node from its flags and the
 * environment (flags.ts).
 *
 * Exit codes: 0 after a clean drain, 1 for bad configuration, a port that cannot be bound, or an API
 * that refuses the node (bad token). SIGTERM/SIGINT drain; the copies of one signal that a process
 * group delivers (npm and tsx relay it) count as one (signals.ts). A deliberate second signal during
 * the drain forces exit with 1, after killing the jobs and handing their leases back.
 */
import { createApiClient } from './api-client';
import { helpText, parseArgs } from './flags';
import { loadConfig } from './config';
import { createLogger, errorMessage } from './log';
import { WorkerNode } from './node';
import { RegistrationRefused } from './registration';
import { SignalCounter } from './signals';
import { startTracing, tracingSettings } from './tracing';

const args = parseArgs(process.argv.slice(2));
if ('error' in args) {
  process.stderr.write(`worker node: ${args.error}\n`);
  process.exit(1);
}
if (args.help) {
  process.stdout.write(helpText(process.env.CLOUD_WORKER_PROGRAM ?? 'npm run worker --'));
  process.exit(0);
}
const parsed = loadConfig({ ...process.env, ...args.env });
// The standard OpenTelemetry variables (tracing.ts): read from the environment only, as every SDK does.
const traced = tracingSettings(process.env);
const configErrors = [...(parsed.ok ? [] : parsed.errors), ...(traced.ok ? [] : traced.errors)];
if (!parsed.ok || !traced.ok) {
  process.stderr.write(
    `worker node: invalid configuration\n${configErrors.map((e) => `  ${e}`).join('\n')}\n`,
  );
  process.exit(1);
}
const config = parsed.config;
const log = createLogger({ level: config.logLevel, base: { worker_id: config.workerId } });

if (config.devToken) {
  log.warn('dev_token', {
    message:
      'WORKER_TOKEN is not set (nor WORKER_TOKEN_FILE): using the development default, which must never reach production',
  });
}

// Without the OTEL variables this is a constant: the SDK is never loaded.
const tracing = await startTracing(traced.settings, { workerId: config.workerId, log });
if (traced.settings)
  log.info('tracing_enabled', {
    protocol: traced.settings.protocol,
    service_name: traced.settings.serviceName,
  });

function fail(event: string, err: unknown): never {
  log.error(event, { error: errorMessage(err) });
  process.exit(1);
}

// Imported only once the configuration is known to be good: loading the executors compiles the wasm
// module and self-tests the native binary, work a node with a typo in its env should not do.
const { createExecutors } = await import('./executors/select');
const executors = await createExecutors({
  binaryPath: config.binaryPath,
  wasmPath: config.wasmPath,
  log: (o: object) => {
    const { event, ...rest } = o as { event?: unknown };
    log.info(typeof event === 'string' ? event : 'executor', rest);
  },
}).catch((err: unknown) => fail('executors_unavailable', err));
if (executors.available.length === 0)
  fail('executors_unavailable', 'neither the native runner nor the wasm build can run');

// A pull node's long polls are held by the API for up to LEASE_WAIT_SEC: their deadline must outlast that.
const leaseApi = createApiClient(config.apiUrl, config, (config.leaseWaitSec + 15) * 1000);
const node = new WorkerNode(
  config,
  executors,
  createApiClient(config.apiUrl, config),
  log,
  (err) => fail('worker_refused', err),
  leaseApi,
  tracing,
);

const signals = new SignalCounter();
let signalled = false;
// Spans still buffered go out before the exit; a collector that does not answer delays it 3 s at most.
const exitWith = (code: number) =>
  void Promise.race([tracing.shutdown(), new Promise((r) => setTimeout(r, 3000))])
    .catch(() => {})
    .finally(() => process.exit(code));
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    signalled = true;
    const meaning = signals.classify(Date.now());
    if (meaning === 'duplicate') return log.info('signal_coalesced', { signal: name });
    if (meaning === 'drain')
      return void node.shutdown(name).then(exitWith, (err) => fail('shutdown_failed', err));
    if (meaning === 'force')
      return void node.forceExit(name).then(exitWith, (err) => fail('shutdown_failed', err));
    // A third: the hand-back is taking too long for whoever is sending these. The runners die with
    // the node regardless (killed when the forced exit began).
    log.warn('worker_aborted', { signal: name });
    process.exit(1);
  });
}

await node.start().catch((err: unknown) => {
  if (signalled) return; // a signal during registration: shutdown() owns the exit
  fail(err instanceof RegistrationRefused ? 'worker_refused' : 'worker_start_failed', err);
});
