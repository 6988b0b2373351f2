/**
 * A stand-in for the API's worker endpoints, for the node's own tests only: it records what the node
 * sends (register, heartbeat, result, deregister) and answers with what the test scripts. It checks
 * the Bearer token and validates bodies with the real protocol schemas, so a node that sends the
 * wrong shape fails here as it would against the API. The tests against the real API (wrangler dev)
 * are in test/e2e.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResultReport } from '../../../src/protocol/dispatch';
import {
  WorkerHeartbeat,
  WorkerRegister,
  type HeartbeatAnswer,
} from '../../../src/protocol/worker';

export interface Recorded {
  method: string;
  path: string;
  auth: string | undefined;
  body: any;
  at: number;
}

type Answer = { status: number; body: unknown };

export interface FakeApi {
  url: string;
  calls: Recorded[];
  of(kind: 'register' | 'heartbeat' | 'result' | 'deregister'): Recorded[];
  /** Answers for the next calls of a kind, in order; after they run out, the default answer. */
  script(kind: 'register' | 'heartbeat' | 'result', ...answers: Answer[]): void;
  close(): Promise<void>;
}

export async function startFakeApi(opts: {
  token: string;
  port?: number;
  heartbeatIntervalSec?: number;
}): Promise<FakeApi> {
  const calls: Recorded[] = [];
  const scripted: Record<string, Answer[]> = { register: [], heartbeat: [], result: [] };
  const kindOf = (method: string, path: string) =>
    method === 'POST' && path === '/workers/register'
      ? 'register'
      : method === 'POST' && /^\/workers\/[^/]+\/heartbeat$/.test(path)
        ? 'heartbeat'
        : method === 'POST' && /^\/jobs\/[^/]+\/result$/.test(path)
          ? 'result'
          : method === 'DELETE' && /^\/workers\/[^/]+$/.test(path)
            ? 'deregister'
            : 'unknown';

  const server: Server = createServer(async (req, res) => {
    const body = await readJson(req);
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const rec: Recorded = { method, path, auth: req.headers.authorization, body, at: Date.now() };
    calls.push(rec);
    const reply = (a: Answer) =>
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    if (rec.auth !== `Bearer ${opts.token}`)
      return reply({
        status: 401,
        body: { error: { code: 'unauthorized', message: 'bad worker token' } },
      });
    const kind = kindOf(method, path);
    const schema = { register: WorkerRegister, heartbeat: WorkerHeartbeat, result: ResultReport }[
      kind as 'register'
    ];
    if (schema) {
      const parsed = schema.safeParse(body);
      if (!parsed.success)
        return reply({
          status: 400,
          body: { error: { code: 'validation_failed', message: parsed.error.message } },
        });
    }
    const next = scripted[kind]?.shift();
    if (next) return reply(next);
    if (kind === 'register')
      return reply({
        status: 201,
        body: { worker: { id: body.id }, heartbeat_interval_sec: opts.heartbeatIntervalSec ?? 5 },
      });
    if (kind === 'heartbeat') {
      const answer: HeartbeatAnswer = {
        status: 'active',
        drain: false,
        kill: [],
        heartbeat_interval_sec: opts.heartbeatIntervalSec ?? 5,
      };
      return reply({ status: 200, body: answer });
    }
    if (kind === 'result') return reply({ status: 200, body: { job: {} } });
    if (kind === 'deregister') return reply({ status: 200, body: { requeued: 0 } });
    reply({ status: 404, body: { error: { code: 'not_found', message: path } } });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    of: (kind) => calls.filter((c) => kindOf(c.method, c.path) === kind),
    script: (kind, ...answers) => scripted[kind].push(...answers),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}
