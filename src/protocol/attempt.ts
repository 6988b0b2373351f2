import { z } from '@hono/zod-openapi';
import { ExecutorName, WorkerId } from './common';

/**
 * Why an attempt ended: one closed set, also the CHECK of migrations/0010_attempts.sql and the table
 * in docs/protocol.md ("Attempt history"). `lease_lost` is an attempt the scheduler took back from a
 * node that is still there (it no longer reported the lease, or never took the dispatch);
 * `node_gone` one whose node stopped heart-beating or deregistered while holding it.
 */
export const ATTEMPT_END_REASONS = [
  'succeeded',
  'failed',
  'lease_lost',
  'node_gone',
  'cancelled',
  'timed_out',
] as const;
export const AttemptEndReason = z.enum(ATTEMPT_END_REASONS);
export type AttemptEndReason = z.infer<typeof AttemptEndReason>;

export const JobAttempt = z
  .object({
    attempt: z.number().int().min(1).openapi({ description: '1 for the first dispatch' }),
    worker_id: WorkerId.nullable(),
    executor: ExecutorName.nullable().openapi({
      description: 'The runner that ran it, when the node reported a result',
    }),
    started_at: z.string().datetime().nullable(),
    finished_at: z.string().datetime(),
    exit_code: z.number().int().nullable().openapi({
      description: "The runner's exit code, when the node reported a result",
    }),
    error: z.string().nullable(),
    timed_out: z.boolean(),
    reason: AttemptEndReason,
  })
  .openapi('JobAttempt');
export type JobAttempt = z.infer<typeof JobAttempt>;

export const JobAttemptList = z
  .object({ attempts: z.array(JobAttempt).openapi({ description: 'Oldest first' }) })
  .openapi('JobAttemptList');
