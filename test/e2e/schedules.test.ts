/**
 * Issue 8, "Done when": a schedule firing three ticks. An every-second schedule (six cron fields,
 * seconds first) under wrangler dev submits a job at each tick through the ScheduleKeeper's real
 * alarm; a real worker node runs them; three of them succeed. Pausing stops it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/protocol/job';
import { startStack, waitFor, type Stack } from './harness';

describe('recurring schedules', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('an every-second schedule fires three ticks whose jobs succeed on a real node', async () => {
    const node = await stack.startNode({ capacity: 2 });
    const created = await stack.call('POST', '/schedules', {
      cron: '* * * * * *',
      name: 'e2e heartbeat',
      job: { type: 'echo', payload: { from: 'schedule' }, max_retries: 0 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.schedule.id;

    const jobsOfSchedule = async (): Promise<Job[]> => {
      const r = await stack.call<{ jobs: Job[] }>('GET', '/jobs?limit=500');
      return r.body.jobs.filter(
        (j) => (j.payload as { from?: string } | null)?.from === 'schedule',
      );
    };
    const succeeded = await waitFor(
      'three jobs of the schedule to succeed',
      async () => {
        const done = (await jobsOfSchedule()).filter((j) => j.status === 'succeeded');
        return done.length >= 3 ? done : undefined;
      },
      60_000,
      250,
    );

    const paused = await stack.call('POST', `/schedules/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.schedule.status).toBe('paused');

    expect(new Set(succeeded.map((j) => j.id)).size).toBe(succeeded.length);
    for (const j of succeeded)
      expect(j).toMatchObject({
        type: 'echo',
        worker_id: node.id,
        result: { exit_code: 0, output: { type: 'echo', result: { from: 'schedule' } } },
      });
    // One job per tick: the jobs were created at distinct seconds.
    const seconds = succeeded.map((j) => Math.floor(Date.parse(j.created_at) / 1000));
    expect(new Set(seconds).size).toBe(seconds.length);

    const s = (await stack.call('GET', `/schedules/${id}`)).body.schedule;
    expect(s.runs).toBeGreaterThanOrEqual(3);
    expect(s.last_job_id).toBeTruthy();
    expect(node.events('job_started').length).toBeGreaterThanOrEqual(3);
  });
});
