/**
 * The node's tracing settings (the standard OTEL variables, refused naming the variable), the context
 * a job's own work gets with tracing off, and how the http and shell job types hand it on. The spans
 * themselves are tested end to end against an OTLP receiver (test/e2e/tracing.test.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatchedJob } from '../../../src/protocol/dispatch';
import { runHttpJob } from '../../../worker-node/src/jobs/http-job';
import { runShellJob } from '../../../worker-node/src/jobs/shell-job';
import {
  noTracing,
  startTracing,
  traceEnv,
  tracingSettings,
} from '../../../worker-node/src/tracing';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('tracingSettings', () => {
  it('is off without an endpoint, whatever else is set', () => {
    expect(tracingSettings({})).toEqual({ ok: true, settings: null });
    expect(
      tracingSettings({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
    ).toEqual({ ok: true, settings: null });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual({
      ok: true,
      settings: null,
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://collector:4318'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'https://collector/v1/traces'],
  ])('is on with %s, http/protobuf and cloud-worker by default', (name, url) => {
    expect(tracingSettings({ [name]: url })).toEqual({
      ok: true,
      settings: { protocol: 'http/protobuf', serviceName: 'cloud-worker' },
    });
  });

  it('takes the protocol (the traces one first) and the service name', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'nodes-eu' };
    expect(tracingSettings({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toMatchObject({
      settings: { protocol: 'http/json', serviceName: 'nodes-eu' },
    });
    expect(
      tracingSettings({
        ...base,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }),
    ).toMatchObject({ settings: { protocol: 'http/protobuf' } });
  });

  it('is off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    for (const value of ['true', 'TRUE'])
      expect(tracingSettings({ ...on, OTEL_SDK_DISABLED: value })).toEqual({
        ok: true,
        settings: null,
      });
    expect(tracingSettings({ ...on, OTEL_TRACES_EXPORTER: 'none' })).toEqual({
      ok: true,
      settings: null,
    });
    expect(tracingSettings({ ...on, OTEL_SDK_DISABLED: 'false' })).toMatchObject({
      settings: { protocol: 'http/protobuf' },
    });
  });

  it.each([
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported',
    ],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http"'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT: must be'],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/' },
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must',
    ],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER: the worker node supports'],
  ])('refuses %j naming the variable', (env, message) => {
    const got = tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env });
    expect(got.ok).toBe(false);
    expect(!got.ok && got.errors.join('\n')).toContain(message);
  });
});

describe('with tracing off', () => {
  const job = (extra: Partial<DispatchedJob> = {}) =>
    ({ job_id: 'default.x', attempt: 1, token: 't', type: 'echo', ...extra }) as DispatchedJob;

  it('loads no SDK: startTracing without settings is the no-op', async () => {
    expect(await startTracing(null, { workerId: 'n' })).toBe(noTracing);
  });

  it('hands the dispatched context on unchanged, and nothing when there is none', () => {
    expect(noTracing.job(job({ traceparent: TP, tracestate: 'a=1' })).running(null)).toEqual({
      traceparent: TP,
      tracestate: 'a=1',
    });
    expect(noTracing.job(job()).running('native')).toBeUndefined();
  });

  it('makes TRACEPARENT and TRACESTATE of it, or no variable at all', () => {
    expect(traceEnv({ traceparent: TP, tracestate: 'a=1' })).toEqual({
      TRACEPARENT: TP,
      TRACESTATE: 'a=1',
    });
    expect(traceEnv({ traceparent: TP })).toEqual({ TRACEPARENT: TP });
    expect(traceEnv(undefined)).toEqual({});
  });
});

describe('job types hand the context on', () => {
  let server: Server;
  let base: string;
  const seen: Record<string, unknown>[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const http = (headers?: Record<string, string>) =>
    runHttpJob(
      {
        payload: { url: base, ...(headers ? { headers } : {}) },
        timeoutMs: 10_000,
        trace: { traceparent: TP, tracestate: 'a=1' },
      },
      { allowPrivate: true },
    );

  it('http: sends traceparent and tracestate', async () => {
    expect((await http()).exit_code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ traceparent: TP, tracestate: 'a=1' });
  });

  it("http: the payload's own traceparent wins, whatever its case", async () => {
    const mine = '00-11111111111111111111111111111111-2222222222222222-00';
    expect((await http({ TraceParent: mine })).exit_code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ traceparent: mine });
    expect(seen.at(-1)).not.toHaveProperty('tracestate');
  });

  it('shell: TRACEPARENT and TRACESTATE in the environment, over any the node had', async () => {
    const r = await runShellJob(
      {
        payload: { argv: ['printenv', 'TRACEPARENT', 'TRACESTATE'] },
        timeoutMs: 10_000,
        trace: { traceparent: TP, tracestate: 'a=1' },
      },
      { allowShell: true, allowlist: ['printenv'] },
      { PATH: process.env.PATH, TRACEPARENT: 'stale' },
    );
    expect(r.exit_code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([TP, 'a=1']);
  });
});
