import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { incomingTrace, newTraceContext, type JobTraceContext } from '../core/trace-context';
import { log } from '../log';
import type { AppEnv } from './context';

/**
 * The W3C Trace Context headers of a request that creates jobs (`POST /jobs`, `/jobs/batch`, the
 * replays), for the OpenAPI document. They are read by `submittedTrace`, not by the validator: a
 * traceparent that does not parse is discarded as the spec says, never a 400.
 */
export const TraceHeaders = z.object({
  traceparent: z.string().optional().openapi({
    description:
      'W3C Trace Context: the jobs join this trace and the worker node exports their spans as its children. Absent or invalid: they start a new trace (see `trace_id`)',
    example: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  }),
  tracestate: z.string().optional().openapi({
    description: 'W3C Trace Context vendor state, kept with a valid traceparent and passed on',
  }),
});

/** One trace per request, also when a bulk replay submits to several queues. */
const started = new WeakMap<Request, JobTraceContext>();

/**
 * The trace context the jobs of this request join: the caller's, or one new trace for all of them
 * (a batch, a DAG, is one trace). A discarded traceparent is logged so a caller can find out why its
 * jobs are not in its trace.
 */
export function submittedTrace(c: Context<AppEnv>): JobTraceContext {
  const known = started.get(c.req.raw);
  if (known) return known;
  const incoming = incomingTrace(c.req.header('traceparent'), c.req.header('tracestate'));
  if (incoming.kind === 'discarded')
    log({
      event: 'traceparent_discarded',
      level: 'warn',
      request_id: c.get('requestId'),
      reason: incoming.reason,
    });
  const trace = incoming.kind === 'joined' ? incoming.context : newTraceContext();
  started.set(c.req.raw, trace);
  return trace;
}
