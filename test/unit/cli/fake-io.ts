/**
 * A fake world for the CLI: an Io that records stdout and stderr, a fetch that records requests and
 * answers from a routing function, and a clock that `sleep` advances, so --wait runs instantly.
 */
import type { Job } from '../../../src/protocol/job';
import type { Io } from '../../../cli/context';

export interface Recorded {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
}

export type Route = (req: Recorded) => { status: number; body?: unknown } | Error;

export interface FakeIo extends Io {
  stdout: string;
  stderr: string;
  requests: Recorded[];
}

export function fakeIo(route: Route, env: Record<string, string> = {}): FakeIo {
  let clock = Date.parse('2025-01-01T00:00:10Z');
  const io: FakeIo = {
    stdout: '',
    stderr: '',
    requests: [],
    out: (s) => void (io.stdout += s),
    err: (s) => void (io.stderr += s),
    errIsTTY: false,
    env: { CLOUD_API_URL: 'http://api.test', ...env },
    now: () => clock,
    sleep: async (ms) => void (clock += ms),
    fetch: (async (input: string, init: RequestInit = {}) => {
      const req: Recorded = {
        method: init.method ?? 'GET',
        url: new URL(input),
        headers: { ...(init.headers as Record<string, string>) },
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      };
      io.requests.push(req);
      const answer = route(req);
      if (answer instanceof Error) throw answer;
      return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch,
  };
  return io;
}

/**
 * A job as the API shows it, with overrides. Cast because the Job schema keeps growing fields the
 * CLI does not read (callbacks, dependencies, ...); these are the ones it does.
 */
export function makeJob(over: Partial<Job> = {}): Job {
  return {
    id: 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q',
    tenant: 'default',
    queue: 'default',
    type: 'echo',
    payload: 'hello',
    priority: 1,
    status: 'queued',
    attempts: 0,
    max_retries: 3,
    timeout_sec: 300,
    executor: null,
    concurrency_key: null,
    concurrency_limit: null,
    requires: [],
    backoff: null,
    replay_of: null,
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    next_attempt_at: null,
    worker_id: null,
    result: null,
    error: null,
    ...over,
  } as Job;
}

export const apiError = (status: number, code: string, message: string, details?: unknown) => ({
  status,
  body: { error: { code, message, details } },
});
