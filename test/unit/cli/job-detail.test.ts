import { describe, expect, it } from 'vitest';
import { jobDetail } from '../../../cli/commands/job-views';
import type { Job } from '../../../src/protocol/job';

const job = (over: Partial<Job> = {}): Job =>
  ({
    id: 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q',
    tenant: 'default',
    queue: 'default',
    type: 'echo',
    payload: 'hi',
    payload_blob: null,
    priority: 1,
    status: 'queued',
    attempts: 0,
    max_retries: 3,
    timeout_sec: 300,
    executor: null,
    replay_of: null,
    worker_id: null,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    next_attempt_at: null,
    result: null,
    error: null,
    ...over,
  }) as Job;

describe('cloud get', () => {
  it("shows the job's trace id, to look it up in a tracing backend (issue 16)", () => {
    const text = jobDetail(job(), Date.parse('2026-01-01T00:00:05Z'));
    expect(text).toMatch(/^trace:\s+4bf92f3577b34da6a3ce929d0e0e4736$/m);
  });

  it('leaves the line out for a job from before traces', () => {
    expect(jobDetail(job({ trace_id: null }), Date.now())).not.toMatch(/^trace:/m);
  });
});
