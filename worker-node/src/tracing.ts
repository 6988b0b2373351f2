/**
 * Spans of the jobs this node runs, exported over OTLP/HTTP when the standard OpenTelemetry variables
 * ask for it: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns it on,
 * `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (the default) or `http/json`, and
 * `OTEL_SERVICE_NAME` names the node (default `cloud-worker`). Each job gets three spans, children of
 * the trace context its dispatch carries (docs/protocol.md, section 1.10): `job.receive` from the
 * dispatch to the start of the run (the payload fetch included), `job.run`, and `job.report` (output
 * upload and result delivery).
 *
 * Without those variables nothing of the SDK is loaded (otel.ts is imported lazily) and a job costs
 * nothing more than handing its context on: `TRACEPARENT` to a runner or shell process, the
 * `traceparent` header to an `http` job's request.
 */
import type { DispatchedJob } from '../../src/protocol/dispatch';
import type { RunOutcome } from './jobs/outcome';
import type { Logger } from './log';
import type { ReportOutcome } from './reporter';

/** The W3C headers a job's own work carries, as the job's children. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** One job's spans, in the order the job goes through them. */
export interface JobSpans {
  /** The run starts: receiving ends. The answer is the context to hand to the job's process or request. */
  running(executor: string | null): TraceHeaders | undefined;
  ran(outcome: RunOutcome): void;
  reporting(): void;
  reported(outcome: ReportOutcome): void;
  /** The lease was killed (cancel, revoked, drain): whatever span is open ends with the reason. */
  dropped(reason: string): void;
}

export interface Tracing {
  readonly enabled: boolean;
  job(job: DispatchedJob): JobSpans;
  /** Sends what is still buffered; called before the node exits. */
  shutdown(): Promise<void>;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TracingSettings {
  protocol: OtlpProtocol;
  serviceName: string;
}

const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];
const ENDPOINTS = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const;

type Env = Record<string, string | undefined>;
const set = (env: Env, name: string) => (env[name] ?? '').trim() || undefined;

/**
 * Whether to trace, and how, from the standard variables; errors name the variable, and the node
 * refuses to start on them. The SDK reads the endpoint, headers, timeout and compression itself.
 */
export function tracingSettings(
  env: Env,
): { ok: true; settings: TracingSettings | null } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  for (const name of ENDPOINTS) {
    const url = set(env, name);
    if (url !== undefined && (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)))
      errors.push(`${name}: must be an absolute http or https URL (got ${JSON.stringify(url)})`);
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = set(env, name);
    if (protocol !== undefined && !PROTOCOLS.includes(protocol))
      errors.push(
        `${name}: ${JSON.stringify(protocol)} is not supported by the worker node: use http/protobuf or http/json`,
      );
  }
  const exporter = set(env, 'OTEL_TRACES_EXPORTER');
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none')
    errors.push(
      `OTEL_TRACES_EXPORTER: the worker node supports "otlp" or "none" (got "${exporter}")`,
    );
  if (errors.length > 0) return { ok: false, errors };
  const off =
    !ENDPOINTS.some((name) => set(env, name) !== undefined) ||
    exporter === 'none' ||
    set(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  if (off) return { ok: true, settings: null };
  const protocol = (set(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ??
    set(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf') as OtlpProtocol;
  return {
    ok: true,
    settings: { protocol, serviceName: set(env, 'OTEL_SERVICE_NAME') ?? 'cloud-worker' },
  };
}

/** Tracing off: the job's own context goes to its process or request, unchanged. */
export const noTracing: Tracing = {
  enabled: false,
  job: (job) => ({
    running: () => dispatchedContext(job),
    ran: () => {},
    reporting: () => {},
    reported: () => {},
    dropped: () => {},
  }),
  shutdown: async () => {},
};

export function dispatchedContext(job: DispatchedJob): TraceHeaders | undefined {
  if (!job.traceparent) return undefined;
  return {
    traceparent: job.traceparent,
    ...(job.tracestate ? { tracestate: job.tracestate } : {}),
  };
}

/** The node's tracing: the SDK, loaded only now, when the variables turn it on. */
export async function startTracing(
  settings: TracingSettings | null,
  node: { workerId: string; log?: Logger },
): Promise<Tracing> {
  if (!settings) return noTracing;
  const { OtelTracing } = await import('./otel');
  return new OtelTracing(settings, node);
}

/** The variables a job's process gets: `TRACEPARENT`, and `TRACESTATE` when there is one. */
export function traceEnv(headers: TraceHeaders | undefined): Record<string, string> {
  if (!headers) return {};
  return {
    TRACEPARENT: headers.traceparent,
    ...(headers.tracestate ? { TRACESTATE: headers.tracestate } : {}),
  };
}
