// The runner command line for one job; identical for both executors.
import { MAX_PAYLOAD_BYTES } from './limits';
import type { ExecRequest } from './types';

export interface RunnerCall {
  args: string[];
  // Set when the payload is too large to pass: the executor answers for the runner (exit 3).
  oversized: boolean;
}

export function runnerCall(req: ExecRequest): RunnerCall {
  const args = ['--job-id', req.jobId, '--type', req.type];
  // JSON.stringify(undefined) is undefined: the flag is left out and the runner answers
  // "missing --payload" (exit 3), the same as for any job without a payload.
  const payload = JSON.stringify(req.payload) as string | undefined;
  if (payload === undefined) return { args, oversized: false };
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return { args, oversized: true };
  return { args: [...args, '--payload', payload], oversized: false };
}
