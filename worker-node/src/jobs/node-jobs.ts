/**
 * Job types the node runs itself instead of handing them to the runner. They exist because they need
 * the node's network and process table, and the policies that guard those (URL rules, shell
 * allowlist) are node configuration, not something a payload can choose. `noop` does nothing and
 * succeeds at once: it measures the scheduler alone (bench/e2e) and checks a node end to end.
 */
import type { UrlPolicy } from '../../../src/core/url-policy';
import { runHttpJob } from './http-job';
import type { RunOutcome } from './outcome';
import { runShellJob, type ShellPolicy } from './shell-job';
import type { TraceHeaders } from '../tracing';

export const NODE_JOB_TYPES = ['http', 'shell', 'noop'] as const;

export interface NodeJobPolicy {
  http: UrlPolicy;
  shell: ShellPolicy;
}

export interface NodeJobRequest {
  type: string;
  payload: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  onStderr?: (chunk: string) => void;
  /** Every byte of stdout as it arrives (the node spools large outputs for upload; blobs.ts). */
  onStdout?: (chunk: Buffer) => void;
  /** The job's trace context: the http request's header, the shell program's TRACEPARENT. */
  trace?: TraceHeaders;
}

export function isNodeJobType(type: string): boolean {
  return (NODE_JOB_TYPES as readonly string[]).includes(type);
}

export function runNodeJob(req: NodeJobRequest, policy: NodeJobPolicy): Promise<RunOutcome> {
  if (req.type === 'http') return runHttpJob(req, policy.http);
  if (req.type === 'shell') return runShellJob(req, policy.shell);
  if (req.type === 'noop')
    return Promise.resolve({
      executor: null,
      exit_code: 0,
      stdout: '{"type":"noop","result":null}\n',
      stderr: '',
      duration_ms: 0,
      timed_out: false,
      cancelled: false,
    });
  throw new Error(`${req.type} is not a node-side job type`);
}
