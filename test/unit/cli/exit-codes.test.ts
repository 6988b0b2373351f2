import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  ApiFailure,
  AuthMissing,
  describeError,
  EXIT,
  exitCodeFor,
  exitCodeForStatus,
  JobEnded,
  Unreachable,
  UsageError,
} from '../../../cli/exit-codes';

describe('exit codes', () => {
  it.each([
    [200, EXIT.OK],
    [400, EXIT.FAILED],
    [404, EXIT.FAILED],
    [409, EXIT.FAILED],
    [413, EXIT.FAILED],
    [401, EXIT.AUTH],
    [403, EXIT.AUTH],
    [429, EXIT.UNAVAILABLE],
    [500, EXIT.UNAVAILABLE],
    [503, EXIT.UNAVAILABLE],
  ])('HTTP %i exits %i', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });

  it.each([
    ['a usage error', new UsageError('x'), 2],
    ['a commander parse error', new CommanderError(1, 'commander.unknownOption', 'x'), 2],
    ['--help', new CommanderError(0, 'commander.helpDisplayed', 'x'), 0],
    ['an unreachable API', new Unreachable('x'), 3],
    ['a missing admin token', new AuthMissing('x'), 4],
    ['a 401', new ApiFailure(401, 'unauthorized', 'x'), 4],
    ['a 404', new ApiFailure(404, 'job_not_found', 'x'), 1],
    ['a failed job', new JobEnded('x', EXIT.FAILED), 1],
    ['a wait timeout', new JobEnded('x', EXIT.UNAVAILABLE), 3],
    ['a bug', new TypeError('x'), 1],
  ])('%s exits %i', (_, err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });

  it('describes an API error with the fields it named', () => {
    const err = new ApiFailure(400, 'validation_failed', 'priority: must be 0, 1 or 2', {
      problems: [{ field: 'priority', message: 'must be 0, 1 or 2' }],
    });
    expect(describeError(err)).toBe(
      '400 validation_failed: priority: must be 0, 1 or 2\n  priority: must be 0, 1 or 2',
    );
  });
});
