/**
 * Issue 16, "Done when": a job submitted with a `traceparent` yields spans with that trace id at an
 * OTLP/HTTP receiver started by the test. The real stack (wrangler dev, D1, the Scheduler object),
 * real worker nodes with the official OpenTelemetry SDK, and a receiver that decodes the exports with
 * the official OTLP definitions (otlp-receiver.ts): once over `http/json` from a pull node (the
 * context comes with the lease), once over `http/protobuf` from a push node (it comes with the
 * signed dispatch). The job's own work gets the run span as its parent: the `http` job's request
 * carries it as a header, a `shell` job and the native runner as `TRACEPARENT`. A node without the
 * OTEL variables exports nothing and hands the dispatched context on unchanged.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, waitFor, type NodeProcess, type Stack } from './harness';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver';

let stack: Stack;
let receiver: OtlpReceiver;
let target: Server;
let targetUrl: string;
const targetHeaders: Record<string, string | undefined>[] = [];

const ids = (hexByte: string, parentByte: string) => ({
  trace: hexByte.repeat(16),
  parent: parentByte.repeat(8),
  header: `00-${hexByte.repeat(16)}-${parentByte.repeat(8)}-01`,
});

beforeAll(async () => {
  receiver = await startOtlpReceiver(await freePort());
  const port = await freePort();
  target = createServer((req, res) => {
    targetHeaders.push({ traceparent: req.headers.traceparent as string | undefined });
    req.resume().on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((r) => target.listen(port, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${port}/hook`;
  stack = await startStack();
});

// Each run has its node to itself: the last one is gone from the registry before the next starts.
afterEach(async () => {
  await Promise.all(stack.nodes.map((n) => n.kill()));
  await waitFor('an empty registry', async () => (await stack.workers()).length === 0, 20_000);
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
  target?.close();
});

/** A node for one run: every node job type allowed, spans batched for 200 ms. */
async function tracedNode(env: Record<string, string>): Promise<NodeProcess> {
  return stack.startNode({
    env: {
      ALLOW_SHELL: '1',
      SHELL_ALLOWLIST: 'printenv',
      HTTP_JOB_ALLOW_PRIVATE: '1',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      ...env,
    },
  });
}

/** The receive, run and report spans of one job, once all three have arrived. */
async function spansOf(jobId: string): Promise<Record<string, ReceivedSpan>> {
  return waitFor(
    `the spans of ${jobId}`,
    async () => {
      const mine = receiver.spans.filter((s) => s.attributes['cloud.job.id'] === jobId);
      const byName = Object.fromEntries(mine.map((s) => [s.name, s]));
      return byName['job.receive'] && byName['job.run'] && byName['job.report']
        ? byName
        : undefined;
    },
    20_000,
  );
}

/** The three spans are children of the submitted context, one after another, in its trace. */
function expectChildren(spans: Record<string, ReceivedSpan>, t: ReturnType<typeof ids>) {
  for (const name of ['job.receive', 'job.run', 'job.report']) {
    expect(spans[name].traceId, name).toBe(t.trace);
    expect(spans[name].parentSpanId, name).toBe(t.parent);
    expect(spans[name].spanId, name).toMatch(/^[0-9a-f]{16}$/);
  }
  expect(new Set(Object.values(spans).map((s) => s.spanId)).size).toBe(3);
  expect(spans['job.receive'].kind).toBe('CONSUMER');
  expect(spans['job.run'].kind).toBe('INTERNAL');
  expect(spans['job.report'].kind).toBe('CLIENT');
  expect(spans['job.report'].attributes['cloud.report.outcome']).toBe('reported');
}

describe('tracing a job through the worker node', () => {
  it('a pull node exports over http/json to OTEL_EXPORTER_OTLP_ENDPOINT; an http job sends the run span as traceparent', async () => {
    const node = await tracedNode({
      // A pull node (the harness's push settings blanked): the context comes with the lease.
      WORKER_MODE: 'pull',
      WORKER_ENDPOINT: '',
      WORKER_PORT: '',
      WORKER_BIND: '',
      LEASE_WAIT_SEC: '5',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'cloud-worker-json',
    });
    await node.waitForLog('tracing_enabled', (l) => l.protocol === 'http/json');
    const t = ids('1a', '2b');
    const submitted = await stack.call(
      'POST',
      '/jobs',
      { type: 'http', payload: { url: targetUrl, method: 'POST', body: { hi: 1 } } },
      { traceparent: t.header },
    );
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const job = submitted.body.job;
    expect(job.trace_id).toBe(t.trace);
    expect((await stack.waitForJob(job.id, 'succeeded')).trace_id).toBe(t.trace);

    const spans = await spansOf(job.id);
    expectChildren(spans, t);
    for (const s of Object.values(spans)) {
      expect(s.contentType).toBe('application/json');
      expect(s.resource['service.name']).toBe('cloud-worker-json');
      expect(s.resource['service.instance.id']).toBe(node.id);
      expect(s.attributes).toMatchObject({ 'cloud.job.type': 'http', 'cloud.queue': 'default' });
    }
    expect(spans['job.run'].attributes['cloud.job.exit_code']).toBe(0);
    // The job's request is a child of its run span.
    expect(targetHeaders.at(-1)?.traceparent).toBe(`00-${t.trace}-${spans['job.run'].spanId}-01`);
    expect(receiver.errors).toEqual([]);
  });

  it('a push node exports over http/protobuf to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; shell jobs and the runner get TRACEPARENT', async () => {
    const node = await tracedNode({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'cloud-worker-proto',
    });
    await node.waitForLog('tracing_enabled', (l) => l.protocol === 'http/protobuf');

    const shell = ids('3c', '4d');
    const shellJob = (
      await stack.call(
        'POST',
        '/jobs',
        { type: 'shell', payload: { argv: ['printenv', 'TRACEPARENT', 'TRACESTATE'] } },
        { traceparent: shell.header, tracestate: 'vendor=abc' },
      )
    ).body.job;
    const shellDone = await stack.waitForJob(shellJob.id, 'succeeded');
    const shellSpans = await spansOf(shellJob.id);
    expectChildren(shellSpans, shell);
    expect(shellSpans['job.run'].contentType).toBe('application/x-protobuf');
    expect(shellSpans['job.run'].resource['service.name']).toBe('cloud-worker-proto');
    expect(String(shellDone.result?.output).trim().split('\n')).toEqual([
      `00-${shell.trace}-${shellSpans['job.run'].spanId}-01`,
      'vendor=abc',
    ]);

    // The native runner: its process environment, read from /proc while a sleep job runs.
    const runner = ids('5e', '6f');
    const sleepJob = (
      await stack.call(
        'POST',
        '/jobs',
        { type: 'sleep', payload: { ms: 3000 }, executor: 'native' },
        { traceparent: runner.header },
      )
    ).body.job;
    const environ = await waitFor('the runner process', async () => runnerEnviron(sleepJob.id));
    await stack.waitForJob(sleepJob.id, 'succeeded');
    const runnerSpans = await spansOf(sleepJob.id);
    expectChildren(runnerSpans, runner);
    expect(runnerSpans['job.run'].attributes['cloud.job.executor']).toBe('native');
    // Nothing of the node's environment reaches the runner: its trace context alone.
    expect(environ).toEqual({
      TRACEPARENT: `00-${runner.trace}-${runnerSpans['job.run'].spanId}-01`,
    });
    expect(receiver.exports).toContain('application/x-protobuf');
    expect(receiver.errors).toEqual([]);
  });

  it('without the OTEL variables exports nothing and hands the submitted context on unchanged', async () => {
    const node = await tracedNode({});
    const before = receiver.spans.length;
    const t = ids('7a', '8b');
    const job = (
      await stack.call(
        'POST',
        '/jobs',
        { type: 'shell', payload: { argv: ['printenv', 'TRACEPARENT'] } },
        { traceparent: t.header },
      )
    ).body.job;
    const done = await stack.waitForJob(job.id, 'succeeded');
    expect(String(done.result?.output).trim()).toBe(t.header);
    expect(node.events('tracing_enabled')).toEqual([]);
    // The node's log line names the trace, to find the job's spans from its logs and back.
    expect(node.events('job_started').find((l) => l.job_id === job.id)?.trace_id).toBe(t.trace);
    // An absence needs a window: five times the batch delay a traced node would have exported in.
    await node.waitForLog('result_reported', (l) => l.job_id === job.id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.spans.length).toBe(before);
  });
});

/** The environment of the runner process running `jobId`, or undefined while there is none. */
function runnerEnviron(jobId: string): Record<string, string> | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv.includes('--job-id') || argv[argv.indexOf('--job-id') + 1] !== jobId) continue;
      const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      return Object.fromEntries(
        vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]),
      );
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return undefined;
}
