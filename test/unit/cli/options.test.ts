import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  JOB_STATUSES as PROTOCOL_STATUSES,
  TERMINAL_STATUSES as PROTOCOL_TERMINAL,
} from '../../../src/protocol/job';
import {
  jobBody,
  JOB_STATUSES,
  parseInteger,
  parsePayload,
  parsePriority,
  TERMINAL_STATUSES,
} from '../../../cli/options';
import { UsageError } from '../../../cli/exit-codes';
import { scheduleBody } from '../../../cli/commands/schedules';

describe('the CLI agrees with the protocol', () => {
  it('has the same job states and terminal states', () => {
    expect([...JOB_STATUSES]).toEqual([...PROTOCOL_STATUSES]);
    expect([...TERMINAL_STATUSES]).toEqual([...PROTOCOL_TERMINAL]);
  });
});

describe('payloads', () => {
  it.each([
    ['{"limit":10}', { limit: 10 }],
    ['42', 42],
    ['"quoted"', 'quoted'],
    ['null', null],
    ['hello world', 'hello world'],
    ['{not json', '{not json'],
  ])('%s is sent as %j', (text, value) => {
    expect(parsePayload(text)).toEqual(value);
  });
});

describe('flag parsers', () => {
  it('reads priorities as numbers or names', () => {
    expect([
      parsePriority('0'),
      parsePriority('high'),
      parsePriority('Normal'),
      parsePriority('2'),
    ]).toEqual([0, 0, 1, 2]);
    expect(() => parsePriority('3')).toThrow(/0 \(high\)/);
  });

  it('refuses what is not an integer', () => {
    expect(parseInteger('30')).toBe(30);
    expect(() => parseInteger('1.5')).toThrow(/not an integer/);
    expect(() => parseInteger('ten')).toThrow(/not an integer/);
  });
});

describe('jobBody', () => {
  it('maps every flag to its field and leaves absent ones out', () => {
    expect(
      jobBody('{"code":1}', {
        type: 'fail',
        priority: 0,
        queue: 'batch',
        timeout: 30,
        maxRetries: 0,
        delay: 5,
      }),
    ).toEqual({
      payload: { code: 1 },
      type: 'fail',
      priority: 0,
      queue: 'batch',
      timeout_sec: 30,
      max_retries: 0,
      delay_sec: 5,
    });
    expect(jobBody(undefined, {})).toEqual({ payload: null });
    expect(jobBody(undefined, { payload: 'plain text' })).toEqual({ payload: 'plain text' });
  });

  it('reads --payload-file as JSON and refuses a file that is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloud-cli-'));
    writeFileSync(join(dir, 'ok.json'), '{"n": 30}');
    writeFileSync(join(dir, 'bad.json'), 'n = 30');
    expect(jobBody(undefined, { payloadFile: join(dir, 'ok.json') })).toEqual({
      payload: { n: 30 },
    });
    expect(() => jobBody(undefined, { payloadFile: join(dir, 'bad.json') })).toThrow(UsageError);
    expect(() => jobBody(undefined, { payloadFile: join(dir, 'missing.json') })).toThrow(/ENOENT/);
  });

  it('refuses a payload given twice', () => {
    expect(() => jobBody('a', { payload: 'b' })).toThrow(UsageError);
  });

  it('builds a schedule around the same job body', () => {
    expect(
      scheduleBody('{"limit":1000}', {
        cron: '*/5 * * * *',
        name: 'report',
        overlap: 'forbid',
        type: 'primes',
      }),
    ).toEqual({
      cron: '*/5 * * * *',
      name: 'report',
      overlap: 'forbid',
      job: { payload: { limit: 1000 }, type: 'primes' },
    });
  });
});
