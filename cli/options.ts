/**
 * Flag parsers and the flags → request-body mapping shared by `submit` and `schedules create`.
 *
 * Only what a flag can get wrong on its own is checked here (an integer that is not one, a priority
 * outside 0-2, a status that does not exist, an unreadable payload file): those are usage errors
 * (exit 2). Ranges are left to the API, whose zod schemas are the one place they are written down;
 * it names the field when it refuses one (exit 1).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from '@hono/zod-openapi';
import type { JobStatus, JobSubmit } from '../src/protocol/job';
import { UsageError } from './exit-codes';

/**
 * The job states, as in src/protocol/job.ts. A copy rather than an import because importing that
 * module loads zod, which would add ~300 ms to every command; test/unit/cli checks they agree.
 */
export const JOB_STATUSES = [
  'waiting',
  'scheduled',
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
] as const satisfies readonly JobStatus[];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export type JobSubmitInput = z.input<typeof JobSubmit>;

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('not an integer.');
  return Number(value);
}

const PRIORITY_NAMES: Record<string, 0 | 1 | 2> = { high: 0, normal: 1, low: 2 };

/** 0, 1, 2 or high, normal, low. */
export function parsePriority(value: string): 0 | 1 | 2 {
  const v = value.trim().toLowerCase();
  if (v in PRIORITY_NAMES) return PRIORITY_NAMES[v];
  if (v === '0' || v === '1' || v === '2') return Number(v) as 0 | 1 | 2;
  throw new InvalidArgumentError('must be 0 (high), 1 (normal) or 2 (low).');
}

/** A payload given on the command line: JSON when it parses as JSON, otherwise the string itself. */
export function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface JobFlags {
  payload?: string;
  payloadFile?: string;
  type?: string;
  priority?: 0 | 1 | 2;
  queue?: string;
  timeout?: number;
  maxRetries?: number;
  delay?: number;
  rateLimit?: { key: string; limit: number; period_sec: number };
}

/** `KEY:LIMIT/PERIOD_SEC`, e.g. `customer-7:10/60` (the key may hold colons; the API checks ranges). */
export function parseRateLimit(value: string): { key: string; limit: number; period_sec: number } {
  const m = /^(.+):(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('KEY:LIMIT/PERIOD_SEC, e.g. customer-7:10/60.');
  return { key: m[1], limit: Number(m[2]), period_sec: Number(m[3]) };
}

/** The job flags, on `submit` and on `schedules create` (the job submitted at every tick). */
export function addJobOptions(cmd: Command): Command {
  return cmd
    .option(
      '--payload <json>',
      'the payload (instead of the argument); JSON, or else sent as a string',
    )
    .option('--payload-file <path>', 'read the payload from a JSON file ("-" for stdin)')
    .option('-t, --type <type>', 'job type, e.g. echo, sleep, primes, fail (default echo)')
    .addOption(
      new Option(
        '-p, --priority <n>',
        '0 high, 1 normal (default), 2 low; or high, normal, low',
      ).argParser(parsePriority),
    )
    .option('-q, --queue <name>', 'queue (default "default")')
    .addOption(
      new Option('--timeout <sec>', 'kill the job after this many seconds').argParser(parseInteger),
    )
    .addOption(
      new Option('--max-retries <n>', 'retries after a failed attempt (default 3)').argParser(
        parseInteger,
      ),
    )
    .addOption(
      new Option('--delay <sec>', 'hold the job scheduled this many seconds first').argParser(
        parseInteger,
      ),
    )
    .addOption(
      new Option(
        '--rate-limit <key:limit/sec>',
        'at most LIMIT jobs with KEY start in any PERIOD seconds, e.g. customer-7:10/60',
      ).argParser(parseRateLimit),
    );
}

/** The JSON body of POST /jobs (or a schedule's `job`) from the argument and flags; absent flags stay absent. */
export function jobBody(
  payloadArg: string | undefined,
  flags: JobFlags,
  readFile: (path: string) => string = readPayloadFile,
): JobSubmitInput {
  const given = [
    payloadArg !== undefined,
    flags.payload !== undefined,
    flags.payloadFile !== undefined,
  ].filter(Boolean).length;
  if (given > 1)
    throw new UsageError('give the payload once: as the argument, --payload or --payload-file');
  let payload: unknown = null;
  if (payloadArg !== undefined) payload = parsePayload(payloadArg);
  else if (flags.payload !== undefined) payload = parsePayload(flags.payload);
  else if (flags.payloadFile !== undefined) {
    const text = readFile(flags.payloadFile);
    try {
      payload = JSON.parse(text);
    } catch (err) {
      throw new UsageError(
        `--payload-file ${flags.payloadFile}: not JSON (${(err as Error).message})`,
      );
    }
  }
  const body: JobSubmitInput = { payload: payload as JobSubmitInput['payload'] };
  if (flags.type !== undefined) body.type = flags.type;
  if (flags.priority !== undefined) body.priority = flags.priority;
  if (flags.queue !== undefined) body.queue = flags.queue;
  if (flags.timeout !== undefined) body.timeout_sec = flags.timeout;
  if (flags.maxRetries !== undefined) body.max_retries = flags.maxRetries;
  if (flags.delay !== undefined) body.delay_sec = flags.delay;
  if (flags.rateLimit !== undefined) body.rate_limit = flags.rateLimit;
  return body;
}

function readPayloadFile(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--payload-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
