// The runner command line for one job; identical for both executors.
import { MAX_PAYLOAD_BYTES } from './limits';
import type { ExecRequest } from './types';

export interface RunnerCall {
  args: string[];
  // The payload's UTF-8 bytes for the runner's stdin (--payload-stdin), in a buffer of their own,
  // so the wasm executor can transfer it to its thread instead of copying it.
  stdin?: Uint8Array;
  // Set when the payload is too large to pass: the executor answers for the runner (exit 3).
  oversized: boolean;
}

// Every payload goes through stdin, never argv: argv caps one argument at 128 KiB on Linux, and a
// payload on the command line would be readable by any local user in `ps` or /proc/<pid>/cmdline.
export function runnerCall(req: ExecRequest): RunnerCall {
  const args = ['--job-id', req.jobId, '--type', req.type];
  // JSON.stringify(undefined) is undefined: no payload flag is given and the runner answers
  // "missing --payload or --payload-stdin" (exit 3), the same as for any job without a payload.
  const payload = JSON.stringify(req.payload) as string | undefined;
  if (payload === undefined) return { args, oversized: false };
  // UTF-8 never takes fewer bytes than UTF-16 code units: a string this long is over the limit
  // without encoding it.
  if (payload.length > MAX_PAYLOAD_BYTES) return { args, oversized: true };
  const stdin = new TextEncoder().encode(payload);
  if (stdin.byteLength > MAX_PAYLOAD_BYTES) return { args, oversized: true };
  return { args: [...args, '--payload-stdin'], stdin, oversized: false };
}
