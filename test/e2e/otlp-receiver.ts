/**
 * An OTLP/HTTP trace receiver for the e2e tests, as a collector's `otlphttp` receiver would be: POST
 * /v1/traces with an ExportTraceServiceRequest, as protobuf (`application/x-protobuf`) or as OTLP
 * JSON (`application/json`), gzip or not. Protobuf is decoded by protobufjs with the official
 * opentelemetry-proto definitions (v1.11.0, vendored under otlp-proto/ with their licence), not by
 * code of ours, so a test passes only if the SDK's bytes are what the spec says.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('./otlp-proto/', import.meta.url));
const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/** A span as the test reads it, whichever encoding it came in. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  resource: Record<string, unknown>;
  /** The Content-Type of the export that carried it. */
  contentType: string;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Content-Types of every export received. */
  readonly exports: string[];
  /** Exports that did not decode: a test asserts there are none. */
  readonly errors: string[];
  stop(): Promise<void>;
}

async function loadRequestType(): Promise<protobuf.Type> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  await root.load('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  return root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
}

type AnyValue = Record<string, unknown>;
type KeyValue = { key: string; value?: AnyValue };

function valueOf(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('boolValue' in v) return v.boolValue;
  return v;
}

const attrs = (list: KeyValue[] = []) =>
  Object.fromEntries(list.map((kv) => [kv.key, valueOf(kv.value)]));

/** OTLP JSON carries ids as hex strings, protobufjs as bytes; enums as numbers or names. */
const hexOf = (id: unknown) =>
  id === undefined || id === null
    ? ''
    : typeof id === 'string'
      ? id.toLowerCase()
      : Buffer.from(id as Uint8Array).toString('hex');
const kindOf = (k: unknown) =>
  typeof k === 'number' ? KINDS[k] : String(k).replace(/^SPAN_KIND_/, '');
const statusCode = (c: unknown) =>
  typeof c === 'number'
    ? c
    : ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'].indexOf(String(c));

function flatten(request: any, contentType: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        out.push({
          traceId: hexOf(s.traceId),
          spanId: hexOf(s.spanId),
          parentSpanId: hexOf(s.parentSpanId),
          name: s.name,
          kind: kindOf(s.kind),
          attributes: attrs(s.attributes),
          status: { code: statusCode(s.status?.code ?? 0), message: s.status?.message },
          resource: attrs(rs.resource?.attributes),
          contentType,
        });
  return out;
}

export async function startOtlpReceiver(port: number): Promise<OtlpReceiver> {
  const RequestType = await loadRequestType();
  const spans: ReceivedSpan[] = [];
  const exports: string[] = [];
  const errors: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '').split(';')[0];
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      try {
        if (contentType === 'application/x-protobuf') {
          const decoded = RequestType.toObject(RequestType.decode(body), { enums: String });
          spans.push(...flatten(decoded, contentType));
          exports.push(contentType);
          // An empty ExportTraceServiceResponse: full success.
          return void res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        }
        if (contentType === 'application/json') {
          spans.push(...flatten(JSON.parse(body.toString('utf8')), contentType));
          exports.push(contentType);
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }
        errors.push(`unexpected content-type ${contentType}`);
        res.writeHead(415).end();
      } catch (err) {
        errors.push(`${contentType}: ${String(err)}`);
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    exports,
    errors,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
