/**
 * The OpenTelemetry SDK side of tracing.ts, imported only when the OTEL variables turn tracing on:
 * the official SDK's tracer provider, a batch span processor and the OTLP/HTTP exporter of the chosen
 * protocol. The exporters read the endpoint (`..._TRACES_ENDPOINT` as is, or `OTEL_EXPORTER_OTLP_
 * ENDPOINT` plus `/v1/traces`), headers, timeout, compression and certificates from the standard
 * variables themselves, and the env resource detector `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES`; the sampler is the SDK's default, parent-based, so a job submitted with
 * an unsampled traceparent (flags 00) exports nothing.
 *
 * No global provider is registered: the spans are this module's own, started with the dispatched
 * context as their explicit parent.
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { getNumberFromEnv, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { DispatchedJob } from '../../src/protocol/dispatch';
import type { RunOutcome } from './jobs/outcome';
import type { Logger } from './log';
import type { ReportOutcome } from './reporter';
import {
  dispatchedContext,
  type JobSpans,
  type TraceHeaders,
  type Tracing,
  type TracingSettings,
} from './tracing';

const propagator = new W3CTraceContextPropagator();

export class OtelTracing implements Tracing {
  readonly enabled = true;
  private readonly provider: TracerProvider;
  private readonly tracer;

  constructor(settings: TracingSettings, node: { workerId: string; log?: Logger }) {
    if (node.log) diag.setLogger(diagToLog(node.log), DiagLogLevel.WARN);
    const exporter =
      settings.protocol === 'http/json' ? new JsonExporter() : new ProtobufExporter();
    this.provider = new TracerProvider({
      resource: defaultResource()
        .merge(
          resourceFromAttributes({
            'service.name': settings.serviceName,
            'service.instance.id': node.workerId,
          }),
        )
        // Last, so the operator's OTEL_RESOURCE_ATTRIBUTES win over the defaults above.
        .merge(detectResources({ detectors: [envDetector] })),
      // The standard batch variables; this SDK line no longer reads them itself. Unset: its defaults.
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          scheduledDelayMillis: getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY'),
          exportTimeoutMillis: getNumberFromEnv('OTEL_BSP_EXPORT_TIMEOUT'),
          maxQueueSize: getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE'),
          maxExportBatchSize: getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
        }),
      ],
    });
    this.tracer = this.provider.getTracer('cloud-worker');
  }

  job(job: DispatchedJob): JobSpans {
    // A job from before tracing existed has no context: its spans then start a trace of their own.
    const parent = propagator.extract(
      ROOT_CONTEXT,
      { ...dispatchedContext(job) },
      defaultTextMapGetter,
    );
    const base: Attributes = {
      'cloud.job.id': job.job_id,
      'cloud.job.attempt': job.attempt,
      'cloud.job.type': job.type,
      'cloud.queue': job.queue,
    };
    const start = (name: string, kind: SpanKind, extra: Attributes = {}) =>
      this.tracer.startSpan(name, { kind, attributes: { ...base, ...extra } }, parent);
    let open: Span | undefined = start('job.receive', SpanKind.CONSUMER);
    const close = (status?: { message: string }) => {
      if (status) open?.setStatus({ code: SpanStatusCode.ERROR, message: status.message });
      open?.end();
      open = undefined;
    };
    return {
      running: (executor) => {
        close();
        open = start('job.run', SpanKind.INTERNAL, { 'cloud.job.executor': executor ?? 'node' });
        const carrier: Partial<TraceHeaders> = {};
        propagator.inject(trace.setSpan(parent, open), carrier, defaultTextMapSetter);
        return carrier.traceparent
          ? {
              traceparent: carrier.traceparent,
              ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
            }
          : dispatchedContext(job);
      },
      ran: (outcome: RunOutcome) => {
        open?.setAttributes({
          'cloud.job.exit_code': outcome.exit_code,
          'cloud.job.timed_out': outcome.timed_out,
          'cloud.job.duration_ms': Math.round(outcome.duration_ms),
          ...(outcome.executor ? { 'cloud.job.executor': outcome.executor } : {}),
        });
        const failed = outcome.exit_code !== 0 || outcome.timed_out;
        close(
          failed
            ? {
                message:
                  outcome.error ??
                  (outcome.timed_out ? 'timed out' : `exit code ${outcome.exit_code}`),
              }
            : undefined,
        );
      },
      reporting: () => {
        close();
        open = start('job.report', SpanKind.CLIENT);
      },
      reported: (outcome: ReportOutcome) => {
        open?.setAttribute('cloud.report.outcome', outcome);
        close(outcome === 'reported' ? undefined : { message: `result ${outcome}` });
      },
      dropped: (reason) => {
        open?.setAttribute('cloud.job.dropped', reason);
        close({ message: `lease ended on the node: ${reason}` });
      },
    };
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** The SDK's own complaints (an export that failed, a bad variable) as the node's log lines. */
function diagToLog(log: Logger) {
  const line =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) =>
      log[level]('otel_diag', { message, ...(args.length ? { detail: args.map(String) } : {}) });
  return {
    error: line('error'),
    warn: line('warn'),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
}
