// Limits shared by both executors, and the exit codes they synthesise when the runner itself did
// not get to report one.
import { constants } from 'node:os';

// Each of stdout and stderr is kept up to this many bytes; the rest is dropped and marked.
export const MAX_OUTPUT_BYTES = 1024 * 1024;
export const TRUNCATED_MARKER = '\n[truncated]';
// The whole stdout a job may hand to ExecRequest.onStdout (uploaded as a blob): the blob limit.
export const MAX_SPOOLED_STDOUT_BYTES = 100 * 1024 * 1024;

// Mirrors kMaxStdinPayloadBytes in wasm-runner/src/registry.hpp (100 MiB, the largest blob a job can
// name). Both executors pass the payload on the runner's stdin; refusing larger payloads here, with
// the runner's own exit code and message, spares spawning a runner only to have it refuse them.
export const MAX_PAYLOAD_BYTES = 100 * 1024 * 1024;
export const EXIT_BAD_PAYLOAD = 3;

export const EXIT_KILLED = 128 + constants.signals.SIGKILL; // 137: timed out or cancelled
export const EXIT_CRASHED = 128 + constants.signals.SIGABRT; // 134: wasm trap or thread failure
export const EXIT_NOT_EXECUTABLE = 126; // shell convention: found but could not be executed
export const EXIT_NOT_FOUND = 127; // shell convention: no such binary

// The runner's own error line for an oversized payload, byte for byte.
export function oversizedPayloadError(): string {
  return `${JSON.stringify({ error: { code: 'bad_payload', message: `payload must be at most ${MAX_PAYLOAD_BYTES} bytes` } })}\n`;
}

// A one-line {"error":...} for failures the executor detects itself (spawn failed, wasm trapped).
export function executorError(code: string, message: string): string {
  return `${JSON.stringify({ error: { code, message } })}\n`;
}
