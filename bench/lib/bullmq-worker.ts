// One BullMQ worker process, the peer of one cloud worker node: `concurrency` jobs at a time, each
// run by the same executor class the node uses (worker-node/src/executors/native.ts spawning
// wasm-runner/build/runner), by a processor that does nothing (mode "noop"), or by one that calls the
// job's `payload.url` and returns (mode "http", the peer of the node's `http` job type).
// argv: <redis port> <queue> <concurrency> <mode: native|noop|http>. Prints "ready" once connected.
import { Worker } from 'bullmq';
import { NativeExecutor, DEFAULT_BINARY_PATH } from '../../worker-node/src/executors/index';

const [port, queue, concurrency, mode] = process.argv.slice(2);
const native = new NativeExecutor({ binaryPath: DEFAULT_BINARY_PATH });

const worker = new Worker(
  queue,
  async (job) => {
    if (mode === 'noop') return null;
    const data = job.data as { type: string; payload: unknown };
    if (mode === 'http') {
      const res = await fetch((data.payload as { url: string }).url);
      await res.text();
      if (!res.ok) throw new Error(`${res.status} from the receiver`);
      return res.status;
    }
    const r = await native.run({
      jobId: String(job.id),
      type: data.type,
      payload: data.payload,
      timeoutMs: 300_000,
    });
    if (r.exit_code !== 0)
      throw new Error(`runner exited ${r.exit_code}: ${r.stderr.slice(0, 200)}`);
    return r.stdout;
  },
  { connection: { host: '127.0.0.1', port: Number(port) }, concurrency: Number(concurrency) },
);
worker.on('error', (e) => process.stderr.write(`worker error: ${String(e)}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

const stop = async () => {
  await worker.close();
  await native.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
