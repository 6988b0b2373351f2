// Runs the native runner binary as a child process: no shell, arguments as an array, an environment
// of the job's trace context alone (the node's token and config never reach job code), bounded
// output, SIGKILL on timeout or abort.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { runnerCall } from './args';
import {
  EXIT_BAD_PAYLOAD,
  EXIT_KILLED,
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
  MAX_OUTPUT_BYTES,
  executorError,
  oversizedPayloadError,
} from './limits';
import { BoundedOutput, resultSince } from './output';
import type { ExecRequest, ExecResult, Executor } from './types';

export interface NativeExecutorOptions {
  binaryPath: string;
  maxOutputBytes?: number;
}

export class NativeExecutor implements Executor {
  readonly name = 'native' as const;
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly opts: NativeExecutorOptions) {}

  run(req: ExecRequest): Promise<ExecResult> {
    const call = runnerCall(req);
    if (call.oversized) return Promise.resolve(this.refused(oversizedPayloadError()));
    return this.runArgs(
      call.args,
      req.timeoutMs,
      req.signal,
      req.onStderr,
      call.stdin,
      req.onStdout,
      req.env,
    );
  }

  // Any command line, for --self-test and for tests of the CLI itself. `stdin` is written to the
  // runner's standard input, then closed; without it, stdin is /dev/null.
  runArgs(
    args: string[],
    timeoutMs: number,
    signal?: AbortSignal,
    onStderr?: (chunk: string) => void,
    stdin?: Uint8Array,
    onStdout?: (chunk: Buffer) => void,
    env: Record<string, string> = {},
  ): Promise<ExecResult> {
    const result = resultSince(this.name, performance.now());
    if (signal?.aborted)
      return Promise.resolve(result({ exit_code: EXIT_KILLED, cancelled: true }));

    return new Promise((resolve) => {
      // Its own process group: a Ctrl-C aimed at the node (which drains) must not kill the jobs it runs.
      const child = spawn(this.opts.binaryPath, args, {
        env: { ...env },
        stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        detached: true,
      });
      this.running.add(child);
      if (stdin) {
        // The runner may exit before reading it all (unknown type, payload over its limit, killed):
        // the write then fails with EPIPE, which is not the job's error. Its exit code and stderr say
        // what happened.
        child.stdin!.on('error', () => {});
        child.stdin!.end(stdin);
      }
      const stdout = new BoundedOutput(this.opts.maxOutputBytes ?? MAX_OUTPUT_BYTES);
      const stderr = new BoundedOutput(this.opts.maxOutputBytes ?? MAX_OUTPUT_BYTES);
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        onStdout?.(chunk);
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        onStderr?.(chunk.toString('utf8'));
      });

      let timedOut = false;
      let cancelled = false;
      const kill = () => child.kill('SIGKILL');
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      const onAbort = () => {
        cancelled = true;
        kill();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(child);
      };

      child.on('error', (err: NodeJS.ErrnoException) => {
        // Spawn failed (no such file, not executable): report it the way a shell would.
        cleanup();
        const exit = err.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
        resolve(result({ exit_code: exit, stderr: executorError('spawn_failed', err.message) }));
      });
      // 'close', not 'exit': it waits for both pipes to drain, so no output is lost.
      child.on('close', (code, sig) => {
        cleanup();
        const exit = code ?? 128 + (sig ? constants.signals[sig] : 0);
        resolve(
          result({
            exit_code: exit,
            stdout: stdout.text(),
            stderr: stderr.text(),
            timed_out: timedOut,
            cancelled,
          }),
        );
      });
    });
  }

  private refused(stderr: string): ExecResult {
    return {
      executor: this.name,
      exit_code: EXIT_BAD_PAYLOAD,
      stdout: '',
      stderr,
      duration_ms: 0,
      timed_out: false,
      cancelled: false,
    };
  }

  async close(): Promise<void> {
    for (const child of this.running) child.kill('SIGKILL');
  }
}
