/**
 * The `http` job type: the node itself makes one HTTP request and reports the answer.
 *
 * A job runner that makes requests on a submitter's behalf is an SSRF gadget unless the destination
 * is checked twice: the URL's literal host before anything happens (src/core/url-policy.ts), and the
 * address DNS actually returned, at connect time, so a name that resolves to 127.0.0.1 or the
 * metadata service is refused too. That is why this uses node:http with a guarded `lookup` rather
 * than fetch, whose resolver cannot be hooked without an extra dependency. Redirects are never
 * followed (node:http does not), the body kept is bounded, and the whole exchange has a deadline.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { z } from 'zod';
import {
  checkOutboundAddress,
  checkOutboundUrl,
  type UrlPolicy,
} from '../../../src/core/url-policy';
import { BoundedOutput } from './bounded-output';
import { describeIssues, EXIT, refusal, type RunOutcome } from './outcome';
import type { TraceHeaders } from '../tracing';

export const MAX_HTTP_BODY_BYTES = 64 * 1024;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
// Headers the node sets itself: letting a payload set them would desynchronise the framing.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
]);

const HttpPayload = z.strictObject({
  url: z.string().min(1).max(8192),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z
    .record(
      z.string().regex(HEADER_NAME, 'not a valid header name'),
      z
        .string()
        .max(8192)
        .regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL'),
    )
    .refine((h) => Object.keys(h).length <= 64, 'at most 64 headers')
    .refine(
      (h) => !Object.keys(h).some((k) => RESERVED_HEADERS.has(k.toLowerCase())),
      'host, content-length, transfer-encoding and connection are set by the node',
    )
    .optional(),
  body: z.union([z.string(), z.json()]).optional(),
  expect_status: z.number().int().min(100).max(599).optional(),
});

export interface HttpJobRequest {
  payload: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The job's trace context, sent as `traceparent`/`tracestate` unless the payload sets its own. */
  trace?: TraceHeaders;
}

class PolicyRefusal extends Error {}

export async function runHttpJob(req: HttpJobRequest, policy: UrlPolicy): Promise<RunOutcome> {
  const startedAt = performance.now();
  const parsed = HttpPayload.safeParse(req.payload);
  if (!parsed.success)
    return refusal(EXIT.badPayload, 'bad_payload', describeIssues(parsed.error.issues), startedAt);
  const p = parsed.data;
  const check = checkOutboundUrl(p.url, policy);
  if (!check.ok)
    return refusal(EXIT.badPayload, 'url_refused', `payload.url: ${check.reason}`, startedAt);

  const headers: Record<string, string> = { 'user-agent': 'cloud-worker-node', ...p.headers };
  const own = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  if (req.trace && !own.has('traceparent')) {
    headers.traceparent = req.trace.traceparent;
    if (req.trace.tracestate && !own.has('tracestate')) headers.tracestate = req.trace.tracestate;
  }
  let body: string | undefined;
  if (p.body !== undefined) {
    body = typeof p.body === 'string' ? p.body : JSON.stringify(p.body);
    if (
      typeof p.body !== 'string' &&
      !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')
    )
      headers['content-type'] = 'application/json';
  }

  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const bad = addresses.map((a) => checkOutboundAddress(a.address, policy)).find((c) => !c.ok);
      if (bad && !bad.ok)
        return callback(new PolicyRefusal(`payload.url: ${hostname} ${bad.reason}`), '', 4);
      if (options.all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };

  return new Promise<RunOutcome>((resolve) => {
    let timedOut = false;
    let settled = false;
    const finish = (
      o: Omit<RunOutcome, 'executor' | 'duration_ms' | 'cancelled' | 'timed_out'>,
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      resolve({
        executor: null,
        duration_ms: Math.round(performance.now() - startedAt),
        timed_out: timedOut,
        cancelled: !!req.signal?.aborted,
        ...o,
      });
    };
    const client = check.url.protocol === 'https:' ? https : http;
    const outgoing = client.request(
      check.url,
      { method: p.method, headers, lookup: guardedLookup, agent: false },
      (res) => {
        const kept = new BoundedOutput(MAX_HTTP_BODY_BYTES);
        res.on('data', (chunk: Buffer) => {
          kept.push(chunk);
          if (kept.truncated) res.destroy(); // stop downloading what we will not keep
        });
        const done = () => {
          if (timedOut || req.signal?.aborted) {
            const code = timedOut ? 'timeout' : 'cancelled';
            return finish({
              exit_code: EXIT.killed,
              stdout: '',
              stderr: JSON.stringify({
                error: { code, message: `stopped while reading the answer (${code})` },
              }),
            });
          }
          const status = res.statusCode ?? 0;
          const ok =
            p.expect_status === undefined
              ? status >= 200 && status < 300
              : status === p.expect_status;
          const output = {
            status,
            headers: res.headers,
            body: kept.text(),
            truncated: kept.truncated,
          };
          finish({
            exit_code: ok ? EXIT.ok : EXIT.failed,
            stdout: JSON.stringify(output),
            stderr: ok
              ? ''
              : JSON.stringify({
                  error: {
                    code: 'unexpected_status',
                    message: `expected ${p.expect_status ?? '2xx'}, got ${status}`,
                  },
                }),
          });
        };
        res.on('end', done);
        res.on('close', done); // after a deliberate destroy there is no 'end'
        res.on('error', () => {}); // the destroy above; 'close' reports what we kept
      },
    );
    outgoing.on('error', (err) => {
      const policyRefused = err instanceof PolicyRefusal;
      const exit =
        timedOut || req.signal?.aborted
          ? EXIT.killed
          : policyRefused
            ? EXIT.badPayload
            : EXIT.failed;
      const code = timedOut ? 'timeout' : policyRefused ? 'url_refused' : 'request_failed';
      finish({
        exit_code: exit,
        stdout: '',
        stderr: JSON.stringify({ error: { code, message: err.message.slice(0, 500) } }),
      });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      outgoing.destroy(new Error(`no answer within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    const onAbort = () => outgoing.destroy(new Error('cancelled'));
    if (req.signal?.aborted) onAbort();
    else req.signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.end(body);
  });
}
