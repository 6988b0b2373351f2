// How the worker node runs one job: the same runner CLI as a native child process or as
// runner.wasm in a worker thread. Both produce an ExecResult of the same shape, so the node reports
// results without caring which executor ran the job.
export type ExecutorName = 'native' | 'wasm';

export interface ExecRequest {
  jobId: string;
  type: string;
  payload: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with stderr as it arrives (progress and log lines); the wasm executor calls it once at the end. */
  onStderr?: (chunk: string) => void;
  /**
   * Called with every byte of stdout (up to MAX_SPOOLED_STDOUT_BYTES), for an output too large to
   * report inline; ExecResult.stdout stays bounded. The wasm executor calls it once at the end.
   */
  onStdout?: (chunk: Buffer) => void;
  /**
   * Variables for the runner process, which otherwise gets none: the job's `TRACEPARENT` and
   * `TRACESTATE`. The wasm build runs with no environment (runner.wasm imports no WASI environ).
   */
  env?: Record<string, string>;
}

export interface ExecResult {
  executor: ExecutorName;
  // The runner's exit code (see wasm-runner/README.md). A run ended by a signal reports 128 + the
  // signal number, as shells do: 137 after a timeout or cancel (SIGKILL), 134 after a crash.
  exit_code: number;
  stdout: string;
  stderr: string;
  duration_ms: number;
  timed_out: boolean;
  cancelled: boolean;
}

export interface Executor {
  readonly name: ExecutorName;
  run(req: ExecRequest): Promise<ExecResult>;
  close(): Promise<void>;
}

// Thrown by pick() when the caller asks for an executor this node cannot provide.
export class ExecutorUnavailableError extends Error {
  readonly code = 'executor_unavailable';
  constructor(
    readonly requested: ExecutorName,
    readonly available: readonly ExecutorName[],
  ) {
    super(
      `executor "${requested}" is not available on this node (available: ${available.join(', ') || 'none'})`,
    );
    this.name = 'ExecutorUnavailableError';
  }
}
