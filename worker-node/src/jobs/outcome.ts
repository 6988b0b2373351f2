/**
 * What running one job produced, whoever ran it: the runner's executors return this shape with their
 * name, the node-side job types (http, shell) with `executor: null` since no runner was involved.
 * Node-side types speak the runner's exit-code language so the scheduler treats them alike.
 */
import type { ExecutorName } from '../../../src/protocol/common';
import type { ExecResult } from '../executors/types';

/** An executor's result, where no executor may have been involved. */
export interface RunOutcome extends Omit<ExecResult, 'executor'> {
  executor: ExecutorName | null;
  /** Why the node could not run the job at all (it never reached a runner). */
  error?: string;
}

/**
 * The runner's exit codes (wasm-runner/src/outcome.hpp); 3 and 4 are never retried. A job the node
 * killed (timeout, cancel) reports 137, 128 + SIGKILL as shells do, the same as the runner executors.
 */
export const EXIT = { ok: 0, failed: 1, badPayload: 3, unknownType: 4, killed: 137 } as const;

/** A refusal before any work: the runner's `{"error":{code,message}}` line on stderr. */
export function refusal(
  exitCode: number,
  code: string,
  message: string,
  startedAt: number,
): RunOutcome {
  return {
    executor: null,
    exit_code: exitCode,
    stdout: '',
    stderr: JSON.stringify({ error: { code, message } }),
    duration_ms: Math.max(0, Math.round(performance.now() - startedAt)),
    timed_out: false,
    cancelled: false,
  };
}

/** A zod error as one readable sentence naming the field, like the runner's bad_payload messages. */
export function describeIssues(
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
): string {
  return issues
    .slice(0, 3)
    .map(
      (i) =>
        `${i.path.length ? `payload.${i.path.map(String).join('.')}` : 'payload'}: ${i.message}`,
    )
    .join('; ');
}
