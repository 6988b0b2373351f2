/**
 * The `shell` job type: run one allowlisted program with the payload's argv.
 *
 * Off unless the operator sets ALLOW_SHELL=1, and then only for programs named in SHELL_ALLOWLIST.
 * Never through a shell (argv goes to execve as an array, so `;`, `$()` and globs mean nothing), never
 * with the node's secrets in the environment, with bounded output and a deadline. The child leads its
 * own process group so a timeout or cancel kills whatever it spawned as well.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { z } from 'zod';
import { BoundedOutput } from './bounded-output';
import { describeIssues, EXIT, refusal, type RunOutcome } from './outcome';
import { traceEnv, type TraceHeaders } from '../tracing';

const ShellPayload = z.strictObject({
  argv: z
    .array(
      z
        .string()
        .max(4096)
        .regex(/^[^\0]*$/, 'must not contain NUL'),
    )
    .min(1, 'needs at least the program')
    .max(256),
});

export interface ShellPolicy {
  allowShell: boolean;
  /** Bare names match a bare argv[0] (found on PATH); entries with a slash match that exact absolute path. */
  allowlist: readonly string[];
}

export interface ShellJobRequest {
  payload: unknown;
  /** The job's trace context: `TRACEPARENT` (and `TRACESTATE`) in the program's environment. */
  trace?: TraceHeaders;
  timeoutMs: number;
  signal?: AbortSignal;
  onStderr?: (chunk: string) => void;
  onStdout?: (chunk: Buffer) => void;
}

/** Variable names that look like credentials; none of them reaches a shell job. */
const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION/i;

type Env = Record<string, string | undefined>;

export function scrubbedEnv(env: Env): Env {
  return Object.fromEntries(
    Object.entries(env).filter(([name, value]) => value !== undefined && !SECRET_NAME.test(name)),
  );
}

export function shellAllowed(program: string, policy: ShellPolicy): boolean {
  return (
    policy.allowShell &&
    policy.allowlist.includes(program) &&
    (program.includes('/') ? program.startsWith('/') : true)
  );
}

export async function runShellJob(
  req: ShellJobRequest,
  policy: ShellPolicy,
  env: Env = process.env,
): Promise<RunOutcome> {
  const startedAt = performance.now();
  if (!policy.allowShell)
    return refusal(
      EXIT.badPayload,
      'shell_disabled',
      'shell jobs are disabled on this node (ALLOW_SHELL is not 1)',
      startedAt,
    );
  const parsed = ShellPayload.safeParse(req.payload);
  if (!parsed.success)
    return refusal(EXIT.badPayload, 'bad_payload', describeIssues(parsed.error.issues), startedAt);
  const [program, ...args] = parsed.data.argv;
  if (!shellAllowed(program, policy))
    return refusal(
      EXIT.badPayload,
      'program_not_allowed',
      `payload.argv[0]: ${JSON.stringify(program.slice(0, 200))} is not in SHELL_ALLOWLIST`,
      startedAt,
    );

  return new Promise<RunOutcome>((resolve) => {
    const stdout = new BoundedOutput();
    const stderr = new BoundedOutput();
    let timedOut = false;
    let spawnError: Error | undefined;
    const child = spawn(program, args, {
      shell: false,
      env: { ...scrubbedEnv(env), ...traceEnv(req.trace) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL'); // the group is gone already, or never formed
      }
    };
    child.stdout.on('data', (c: Buffer) => {
      stdout.push(c);
      req.onStdout?.(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr.push(c);
      req.onStderr?.(c.toString('utf8'));
    });
    child.on('error', (err) => (spawnError = err));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, req.timeoutMs);
    const onAbort = () => killGroup();
    if (req.signal?.aborted) onAbort();
    else req.signal?.addEventListener('abort', onAbort, { once: true });

    // 'close' waits for stdio to drain, so the output is complete when we build the result.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      const killed = timedOut || !!req.signal?.aborted;
      let err = stderr.text();
      if (spawnError)
        err = JSON.stringify({
          error: { code: 'spawn_failed', message: spawnError.message.slice(0, 500) },
        });
      else if (timedOut)
        err +=
          (err ? '\n' : '') +
          JSON.stringify({
            error: { code: 'timeout', message: `killed after ${req.timeoutMs} ms` },
          });
      resolve({
        executor: null,
        exit_code: killed
          ? EXIT.killed
          : signal
            ? 128 + (constants.signals[signal] ?? 0)
            : spawnError
              ? EXIT.failed
              : (code ?? EXIT.failed),
        stdout: stdout.text(),
        stderr: err,
        duration_ms: Math.round(performance.now() - startedAt),
        timed_out: timedOut,
        cancelled: !!req.signal?.aborted,
      });
    });
  });
}
