/**
 * Exit codes a shell script can rely on, and the errors that lead to them. The split between 1 and 3
 * is the one a script cares about: 3 means "try again later may work" (the API was unreachable, slow,
 * overloaded or rate-limiting), 1 means "the same request will fail the same way".
 */
import { CommanderError } from 'commander';

export const EXIT = {
  OK: 0,
  /** The job (with --wait) ended failed or cancelled; or the API refused the request (4xx). */
  FAILED: 1,
  /** A bad command line: unknown command or flag, a bad flag value, an unreadable payload file. */
  USAGE: 2,
  /** The API could not be reached, timed out, answered 5xx or 429, or --wait-timeout passed. */
  UNAVAILABLE: 3,
  /** The API refused the credentials (401 or 403), or none were configured where they are needed. */
  AUTH: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  the job ended failed or cancelled (--wait), or the API refused the request (4xx: validation,
     not found, conflict)
  2  usage error (unknown command or flag, bad flag value, unreadable payload file)
  3  the API is unreachable, timed out, answered 5xx or 429, or --wait-timeout passed: retry later
  4  authentication: the API refused the key or admin token (401, 403), or none is set`;

/** A problem with the command line that commander itself cannot see (flag combinations, files). */
export class UsageError extends Error {}

/** An answer from the API outside 2xx, with its `{ error: { code, message, details } }` body. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** No usable answer: connection refused, DNS, timeout, a body that is not JSON. */
export class Unreachable extends Error {}

/** Missing credentials, detected before any request is sent. */
export class AuthMissing extends Error {}

/** --wait saw the job end in a state other than succeeded, or gave up waiting. */
export class JobEnded extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 429 || status >= 500) return EXIT.UNAVAILABLE;
  if (status >= 400) return EXIT.FAILED;
  return EXIT.OK;
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof ApiFailure) return exitCodeForStatus(err.status);
  if (err instanceof Unreachable) return EXIT.UNAVAILABLE;
  if (err instanceof AuthMissing) return EXIT.AUTH;
  if (err instanceof JobEnded) return err.exitCode;
  return EXIT.FAILED;
}

/** The stderr text for an error: the API's code and message, and each field the API named. */
export function describeError(err: unknown): string {
  if (err instanceof ApiFailure) {
    const lines = [`${err.status} ${err.code}: ${err.message}`];
    const problems = (
      err.details as { problems?: Array<{ field?: string; message?: string }> } | undefined
    )?.problems;
    if (Array.isArray(problems))
      for (const p of problems) lines.push(`  ${p.field ?? '?'}: ${p.message ?? ''}`);
    return lines.join('\n');
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
