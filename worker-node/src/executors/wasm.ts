// Runs runner.wasm in worker threads, so a timeout or abort can terminate() a job mid-computation.
// The module is compiled once and shared with every thread (V8 shares the compiled code, including
// what it later optimises); each job gets a fresh instance, so no state leaks between jobs.
// Finished threads are kept for the next job: a warm job then skips thread start-up entirely.
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { runnerCall } from './args';
import {
  EXIT_BAD_PAYLOAD,
  EXIT_CRASHED,
  EXIT_KILLED,
  MAX_OUTPUT_BYTES,
  MAX_SPOOLED_STDOUT_BYTES,
  executorError,
  oversizedPayloadError,
} from './limits';
import { captured, resultSince } from './output';
import type { ExecRequest, ExecResult, Executor } from './types';

export interface WasmExecutorOptions {
  wasmPath: string;
  maxOutputBytes?: number;
  // Finished threads kept for reuse. 0 starts a fresh thread for every job (the bench's "cold").
  idleThreads?: number;
}

interface ThreadReply {
  id: number;
  exitCode: number;
  stdout: Uint8Array;
  stdoutTruncated: boolean;
  stderr: Uint8Array;
  stderrTruncated: boolean;
  trap?: string;
}

const THREAD_SCRIPT = new URL('./wasm-thread.mjs', import.meta.url);
const DEFAULT_IDLE_THREADS = 2;

export class WasmExecutor implements Executor {
  readonly name = 'wasm' as const;
  private readonly idle: Worker[] = [];
  private readonly busy = new Set<Worker>();
  // Threads being terminated after a timeout, abort or crash: close() waits for them too, so no
  // thread is still being torn down when the process exits.
  private readonly stopping = new Set<Promise<number>>();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly opts: WasmExecutorOptions,
  ) {}

  // Reads and compiles the module; rejects if the file is missing or is not valid WebAssembly.
  static async create(opts: WasmExecutorOptions): Promise<WasmExecutor> {
    const module = await WebAssembly.compile(await readFile(opts.wasmPath));
    return new WasmExecutor(module, opts);
  }

  run(req: ExecRequest): Promise<ExecResult> {
    const call = runnerCall(req);
    if (call.oversized) {
      return Promise.resolve({
        executor: this.name,
        exit_code: EXIT_BAD_PAYLOAD,
        stdout: '',
        stderr: oversizedPayloadError(),
        duration_ms: 0,
        timed_out: false,
        cancelled: false,
      });
    }
    // The encoded payload is ours alone: hand its buffer to the thread rather than copy 100 MiB.
    return this.start(call.args, req.timeoutMs, req.signal, call.stdin, true, req.onStdout);
  }

  // Any command line, for tests of the CLI itself. `stdin` is the runner's standard input, then EOF
  // (none: EOF at once); it is copied to the thread, so the caller's bytes stay usable.
  runArgs(
    args: string[],
    timeoutMs: number,
    signal?: AbortSignal,
    stdin?: Uint8Array,
  ): Promise<ExecResult> {
    return this.start(args, timeoutMs, signal, stdin, false);
  }

  private start(
    args: string[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    stdin: Uint8Array | undefined,
    transfer: boolean,
    onStdout?: (chunk: Buffer) => void,
  ): Promise<ExecResult> {
    const result = resultSince(this.name, performance.now());
    const maxOutputBytes = this.opts.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    if (this.closed) return Promise.reject(new Error('wasm executor is closed'));
    if (signal?.aborted)
      return Promise.resolve(result({ exit_code: EXIT_KILLED, cancelled: true }));

    const worker = this.idle.pop() ?? this.spawn();
    worker.ref();
    this.busy.add(worker);
    const id = this.nextId++;

    return new Promise((resolve) => {
      let settled = false;
      // A thread that was terminated, crashed or trapped is not reused; one that answered normally is.
      const finish = (fields: Partial<ExecResult>, reusable: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        this.release(worker, reusable);
        resolve(result(fields));
      };
      const onMessage = (reply: ThreadReply) => {
        if (reply.id !== id) return;
        const trap = reply.trap === undefined ? '' : executorError('wasm_trap', reply.trap);
        finish(
          {
            exit_code: reply.exitCode,
            stdout: reportedStdout(reply, maxOutputBytes, onStdout),
            stderr: captured(reply.stderr, reply.stderrTruncated) + trap,
          },
          reply.trap === undefined,
        );
      };
      const onError = (err: Error) =>
        finish(
          { exit_code: EXIT_CRASHED, stderr: executorError('wasm_thread_failed', err.message) },
          false,
        );
      const onExit = (code: number) =>
        finish(
          {
            exit_code: EXIT_CRASHED,
            stderr: executorError('wasm_thread_failed', `thread exited with ${code}`),
          },
          false,
        );
      const onAbort = () => finish({ exit_code: EXIT_KILLED, cancelled: true }, false);
      const timer = setTimeout(
        () => finish({ exit_code: EXIT_KILLED, timed_out: true }, false),
        timeoutMs,
      );

      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const job = {
        id,
        args,
        maxOutputBytes,
        maxStdoutBytes: onStdout ? MAX_SPOOLED_STDOUT_BYTES : undefined,
        stdin,
      };
      // Only a buffer that holds exactly these bytes is transferred (a slice of a pooled Buffer is not).
      const owned =
        transfer &&
        stdin !== undefined &&
        stdin.byteOffset === 0 &&
        stdin.byteLength === stdin.buffer.byteLength;
      worker.postMessage(job, owned ? [stdin.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all([...all.map((w) => w.terminate()), ...this.stopping]);
  }

  private spawn(): Worker {
    // env: {} so the thread's process.env holds none of the node's secrets (the WASI guest gets
    // an empty environment either way).
    return new Worker(THREAD_SCRIPT, { workerData: { module: this.module }, env: {} });
  }

  private release(worker: Worker, reusable: boolean): void {
    this.busy.delete(worker);
    if (
      reusable &&
      !this.closed &&
      this.idle.length < (this.opts.idleThreads ?? DEFAULT_IDLE_THREADS)
    ) {
      worker.unref(); // an idle thread must not keep the node alive
      this.idle.push(worker);
    } else {
      const stopped = worker
        .terminate()
        .catch(() => -1)
        .finally(() => this.stopping.delete(stopped));
      this.stopping.add(stopped);
    }
  }
}

/**
 * The stdout to report inline. A thread asked for the whole of it (onStdout) hands it all over: the
 * spool gets every byte, the report the first `limit` with the truncation marker, as for anyone else.
 */
function reportedStdout(
  reply: ThreadReply,
  limit: number,
  onStdout?: (chunk: Buffer) => void,
): string {
  if (!onStdout) return captured(reply.stdout, reply.stdoutTruncated);
  onStdout(Buffer.from(reply.stdout.buffer, reply.stdout.byteOffset, reply.stdout.byteLength));
  const over = reply.stdout.byteLength > limit;
  return captured(
    over ? reply.stdout.subarray(0, limit) : reply.stdout,
    over || reply.stdoutTruncated,
  );
}
