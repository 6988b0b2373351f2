import { describe, expect, it } from 'vitest';
import { scheduleTable } from '../../../cli/commands/schedules';
import type { Schedule } from '../../../src/protocol/schedule';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function schedule(overrides: Partial<Schedule>): Schedule {
  return {
    id: 'sch_1',
    tenant: 'acme',
    name: null,
    cron: '* * * * *',
    timezone: 'UTC',
    job: { type: 'shell', queue: 'default', priority: 1 } as Schedule['job'],
    overlap: 'allow',
    status: 'active',
    next_run_at: '2026-01-01T12:01:00Z',
    last_run_at: null,
    last_job_id: null,
    runs: 0,
    skipped_ticks: 0,
    last_skipped_at: null,
    last_skip_reason: null,
    missed_ticks: 0,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

describe('cloud schedules list', () => {
  it('shows why the last skipped tick created no job', () => {
    const table = scheduleTable(
      [
        schedule({
          skipped_ticks: 2,
          last_skipped_at: '2026-01-01T11:59:00Z',
          last_skip_reason: 'rate_limited',
        }),
      ],
      NOW,
    );
    expect(table).toContain('SKIPPED');
    expect(table).toContain('2 (last: rate_limited 1m');
  });
});
