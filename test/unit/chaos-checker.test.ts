/**
 * The chaos checker's two rules for the object/D1 seam, on small hand-made histories: a checker that
 * cannot flag a violation would make every chaos run pass.
 */
import { describe, expect, it } from 'vitest';
import { check, type CheckInput } from '../chaos/checker';

function history(overrides: Partial<CheckInput> = {}): CheckInput {
  return {
    accepted: ['q.1'],
    final: new Map([['q.1', { id: 'q.1', status: 'succeeded', attempts: 1 }]]),
    reports: [
      {
        job_id: 'q.1',
        worker_id: 'n1',
        attempt: 1,
        exit_code: 0,
        at: 1000,
        answered_at: 1010,
        statuses: [200],
        fault: null,
      },
    ],
    dispatches: [{ job_id: 'q.1', attempt: 1, token: 't1', worker_id: 'n1', at: 900, fault: null }],
    nodeCompletions: [{ job_id: 'q.1', attempt: 1, worker_id: 'n1' }],
    apiEvents: [],
    apiRestarted: false,
    lateReports: [],
    objectStates: new Map([['q.1', 'succeeded']]),
    ...overrides,
  };
}

describe('chaos checker', () => {
  it('passes a clean history', () => {
    const { counts, violations } = check(history());
    expect(violations).toEqual([]);
    expect(counts).toMatchObject({ rerun_after_success: 0, d1_diverged: 0 });
  });

  it('flags a dispatch after the success was accepted', () => {
    const again = {
      job_id: 'q.1',
      attempt: 2,
      token: 't2',
      worker_id: 'n2',
      at: 1500,
      fault: null,
    };
    const { counts, violations } = check(history({ dispatches: [...history().dispatches, again] }));
    expect(counts.rerun_after_success).toBe(1);
    expect(violations.join('\n')).toContain('rerun_after_success: q.1');
  });

  it('does not count a re-dispatch that came before the success was answered', () => {
    const before = {
      job_id: 'q.1',
      attempt: 2,
      token: 't2',
      worker_id: 'n2',
      at: 1005,
      fault: null,
    };
    expect(
      check(history({ dispatches: [...history().dispatches, before] })).counts.rerun_after_success,
    ).toBe(0);
  });

  it('flags D1 and the object disagreeing on a final state', () => {
    const { counts, violations } = check(history({ objectStates: new Map([['q.1', 'running']]) }));
    expect(counts.d1_diverged).toBe(1);
    expect(violations.join('\n')).toContain('d1_diverged: q.1 is succeeded in D1 but running');
  });
});
