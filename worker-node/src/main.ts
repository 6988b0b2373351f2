/**
 * `npm run worker`: boot a worker node from the environment.
 *
 * Exit codes: 0 after a clean drain, 1 for bad configuration, a port that cannot be bound, or an API
 * that refuses the node (bad token). A second SIGTERM/SIGINT during the drain exits at once, with 1.
 */
import { createApiClient } from './api-client';
import { loadConfig } from './config';
import { createLogger, errorMessage } from './log';
import { WorkerNode } from './node';
import { RegistrationRefused } from './registration';

const parsed = loadConfig(process.env);
if (!parsed.ok) {
  process.stderr.write(
    `worker node: invalid configuration\n${parsed.errors.map((e) => `  ${e}`).join('\n')}\n`,
  );
  process.exit(1);
}
const config = parsed.config;
const log = createLogger({ level: config.logLevel, base: { worker_id: config.workerId } });

if (config.devToken) {
  log.warn('dev_token', {
    message:
      'WORKER_TOKEN is not set: using the development default, which must never reach production',
  });
}

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
const leaseApi = createApiClient(config.apiUrl, config.token, (config.leaseWaitSec + 15) * 1000);
const node = new WorkerNode(
  config,
  executors,
  createApiClient(config.apiUrl, config.token),
  log,
  (err) => fail('worker_refused', err),
  leaseApi,
);

let signals = 0;
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    if (++signals > 1) {
      log.warn('worker_forced_exit', { signal: name });
      process.exit(1);
    }
    node.shutdown(name).then(
      (code) => process.exit(code),
      (err) => fail('shutdown_failed', err),
    );
  });
}

await node.start().catch((err: unknown) => {
  if (signals > 0) return; // a signal during registration: shutdown() owns the exit
  fail(err instanceof RegistrationRefused ? 'worker_refused' : 'worker_start_failed', err);
});
