import type { ResultReport } from '../../protocol/dispatch';
import type { JobResult } from '../../protocol/job';

const MAX_STORED_STDOUT = 256 * 1024;
const MAX_STORED_STDERR = 16 * 1024;
/** A stored result's bytes once serialised for the outbox: well under a storage value's 2 MB. */
const MAX_STORED_RESULT_BYTES = 512 * 1024;

/** A node's report as the job's stored result, bounded so it fits one storage value. */
export function storedResult(report: ResultReport): { result: JobResult; text: string } {
  return boundedResult(toResult(report), report.stdout);
}

/** Whether the report is a success: exit 0, in time, with no error of the node's own. */
export function succeeded(report: ResultReport): boolean {
  return report.exit_code === 0 && !report.timed_out && !report.error;
}

/**
 * A result whose stored form fits: it travels as a JSON string inside the outbox's JSON parameters,
 * where every escape grows again, and one storage value holds at most 2 MB. Past the bound the output
 * is kept as the start of stdout, as text, and marked truncated (the whole output goes to R2 when the
 * node was given an upload URL: `output_blob`).
 */
function boundedResult(result: JobResult, stdout: string): { result: JobResult; text: string } {
  let text = JSON.stringify(result);
  for (
    let keep = Math.min(stdout.length, MAX_STORED_STDOUT);
    storedBytes(text) > MAX_STORED_RESULT_BYTES;
    keep >>= 1
  ) {
    result = { ...result, output: trim(stdout.slice(0, keep), keep - 1), output_truncated: true };
    text = JSON.stringify(result);
    if (keep === 0) break;
  }
  return { result, text };
}

function storedBytes(text: string): number {
  return new TextEncoder().encode(JSON.stringify(text)).length;
}

function toResult(r: ResultReport): JobResult {
  let output: unknown;
  const line = r.stdout.trim();
  if (line) {
    try {
      output = JSON.parse(line);
    } catch {
      output = trim(r.stdout, MAX_STORED_STDOUT);
    }
  } else output = null;
  return {
    executor: r.executor,
    exit_code: r.exit_code,
    duration_ms: Math.round(r.duration_ms),
    output,
    stderr: trim(r.stderr, MAX_STORED_STDERR),
    timed_out: r.timed_out,
    // Only this fenced report links an output blob, so a stale attempt's upload is never shown.
    ...(r.output_blob ? { output_blob: { ...r.output_blob, attempt: r.attempt } } : {}),
  };
}

/** The error a failed attempt records: the node's, a timeout, or the runner's last stderr line. */
export function describeFailure(r: ResultReport, timeoutSec: number): string {
  if (r.error) return r.error;
  if (r.timed_out) return `timed out after ${timeoutSec}s`;
  const last = r.stderr.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message)
      return `exit code ${r.exit_code}: ${parsed.error.code ?? 'error'}: ${parsed.error.message}`;
  } catch {
    /* not JSON: fall through */
  }
  return `exit code ${r.exit_code}${last ? `: ${last.slice(0, 500)}` : ''}`;
}

function trim(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}\n[truncated]` : s;
}
