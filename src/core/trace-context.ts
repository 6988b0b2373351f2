/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) where jobs come in. A job submitted with a
 * `traceparent` header joins that trace; one without it, or with one the spec says to discard, starts
 * a trace of its own. Either way the job keeps a traceparent that its dispatch hands to the node, whose
 * spans are its children (docs/protocol.md, section 1.10).
 *
 * The parsing is OpenTelemetry's own (`@opentelemetry/core`), the code the worker node's SDK runs on
 * the other end, so both ends agree on what is valid: lowercase hex, no all-zero ids, version `ff`
 * refused, a version-00 header with anything after its flags refused, a higher version read for its
 * first four fields. Pure: the randomness is a parameter.
 */
import { parseTraceParent, TraceState } from '@opentelemetry/core';

/** What a job carries: the context its work is a child of, and the caller's vendor state. */
export interface JobTraceContext {
  /** `00-<trace id>-<parent id>-<flags>`, always version 00 (the version this side speaks). */
  traceparent: string;
  tracestate: string | null;
}

export type IncomingTrace =
  | { kind: 'absent' }
  /** The spec's rule: a traceparent that does not parse is discarded and a new trace starts. */
  | { kind: 'discarded'; reason: string }
  | { kind: 'joined'; context: JobTraceContext };

/** Sampled: a trace the API starts is recorded by the node's default parent-based sampler. */
const SAMPLED = '01';
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * The context of the request's `traceparent` and `tracestate` header values. Several traceparent
 * headers arrive joined by commas and so fail to parse, as the spec wants (they are discarded).
 */
export function incomingTrace(
  traceparent: string | undefined,
  tracestate: string | undefined,
): IncomingTrace {
  if (traceparent === undefined) return { kind: 'absent' };
  const parsed = parseTraceParent(traceparent.trim());
  if (!parsed)
    return {
      kind: 'discarded',
      reason:
        'not a W3C traceparent (version-traceid-parentid-flags in lowercase hex, ids not all zero)',
    };
  // Only once traceparent parsed may tracestate be read (the spec, 3.3.1): its invalid members are
  // dropped, and it is cut to 32 members and 512 characters.
  const state = tracestate === undefined ? '' : new TraceState(tracestate).serialize();
  return {
    kind: 'joined',
    context: {
      traceparent: `00-${parsed.traceId}-${parsed.spanId}-${parsed.traceFlags.toString(16).padStart(2, '0')}`,
      tracestate: state === '' ? null : state,
    },
  };
}

/** Fills a buffer with random bytes: `crypto.getRandomValues` in Workers and Node. */
export type RandomFill = (bytes: Uint8Array) => Uint8Array;
const cryptoFill: RandomFill = (bytes) => crypto.getRandomValues(bytes);

/**
 * A new trace for a job that came without one: a random trace id, and a random parent id that stands
 * for the job's submission (the API exports no span of its own, so tracing backends show the node's
 * spans under a root they never received). All-zero ids are invalid and drawn again.
 */
export function newTraceContext(random: RandomFill = cryptoFill): JobTraceContext {
  const draw = (n: number): string => {
    for (;;) {
      const id = hex(random(new Uint8Array(n)));
      if (/[^0]/.test(id)) return id;
    }
  };
  return { traceparent: `00-${draw(16)}-${draw(8)}-${SAMPLED}`, tracestate: null };
}

/** The trace id of a stored traceparent (always version 00, as `incomingTrace` writes it). */
export function traceIdOf(traceparent: string): string {
  return traceparent.split('-')[1];
}
