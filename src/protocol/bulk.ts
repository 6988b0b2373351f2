import { z } from '@hono/zod-openapi';
import { JobType, Priority, QueueName } from './common';
import { JobStatus } from './job';

/**
 * Bulk actions by filter (`POST /jobs/bulk`, docs/protocol.md "Bulk actions"): one action on every
 * job of the caller's tenant that matches a filter, however many. `retry` runs the same job again
 * (same id, its attempts go on, a fresh retry budget); `replay` submits a new job copying it
 * (`replay_of`), as `POST /jobs/:id/replay` does.
 */
export const BULK_ACTIONS = ['cancel', 'retry', 'replay', 'priority'] as const;
export const BulkActionName = z.enum(BULK_ACTIONS);
export type BulkActionName = z.infer<typeof BulkActionName>;

/** The states each action applies to; a matched job in another state is skipped, not failed. */
export const ACTION_APPLIES_TO: Record<BulkActionName, readonly JobStatus[]> = {
  cancel: ['waiting', 'scheduled', 'queued', 'running', 'retrying'],
  retry: ['failed', 'cancelled'],
  replay: ['succeeded', 'failed', 'cancelled'],
  priority: ['waiting', 'scheduled', 'queued', 'retrying'],
};

export const BULK_STATES = ['running', 'completed', 'failed'] as const;

export const BulkFilter = z
  .strictObject({
    queue: QueueName.optional(),
    status: JobStatus.optional(),
    type: JobType.optional(),
    priority: Priority.optional(),
    created_after: z
      .string()
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'Only jobs created strictly after this RFC 3339 moment' }),
    created_before: z
      .string()
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'Only jobs created strictly before this RFC 3339 moment' }),
  })
  .refine(
    (f) =>
      f.created_before === undefined ||
      f.created_after === undefined ||
      Date.parse(f.created_before) > Date.parse(f.created_after),
    { message: 'must be later than created_after', path: ['created_before'] },
  )
  .openapi('BulkFilter');
export type BulkFilter = z.infer<typeof BulkFilter>;

export const BulkActionRequest = z
  .strictObject({
    action: BulkActionName,
    filter: BulkFilter,
    priority: Priority.optional().openapi({ description: 'The new priority (action priority)' }),
  })
  .superRefine((b, ctx) => {
    if (b.action === 'priority' && b.priority === undefined)
      ctx.addIssue({ code: 'custom', path: ['priority'], message: 'required for action priority' });
    if (b.action !== 'priority' && b.priority !== undefined)
      ctx.addIssue({ code: 'custom', path: ['priority'], message: 'only for action priority' });
    const applies = ACTION_APPLIES_TO[b.action];
    if (b.filter.status !== undefined && !applies.includes(b.filter.status))
      ctx.addIssue({
        code: 'custom',
        path: ['filter', 'status'],
        message: `${b.action} acts on ${applies.join(', ')} jobs, not ${b.filter.status}`,
      });
  })
  .openapi('BulkActionRequest');
export type BulkActionRequest = z.infer<typeof BulkActionRequest>;

export const BulkAction = z
  .object({
    id: z.string(),
    tenant: z.string(),
    action: BulkActionName,
    filter: BulkFilter,
    priority: Priority.nullable(),
    status: z.enum(BULK_STATES).openapi({
      description: '`running` while pages remain, then `completed` (or `failed` if it gave up)',
    }),
    matched: z.number().int().openapi({
      description: 'Jobs matching the filter when the action was accepted (created up to then)',
    }),
    done: z.number().int().openapi({ description: 'Jobs the action was carried out on' }),
    skipped: z.number().int().openapi({
      description:
        'Matched jobs the action no longer applied to when reached (e.g. a job that finished before its cancel)',
    }),
    failed: z.number().int().openapi({ description: 'Jobs it could not act on (see problems)' }),
    problems: z
      .array(z.object({ job_id: z.string(), reason: z.string() }))
      .openapi({ description: 'Up to 20 skipped or failed jobs with the reason' }),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
    finished_at: z.string().datetime().nullable(),
    error: z.string().nullable(),
  })
  .openapi('BulkAction');
export type BulkAction = z.infer<typeof BulkAction>;

export const BulkIdParam = z.object({
  id: z
    .string()
    .regex(/^bk_[0-9A-HJKMNP-TV-Z]{26}$/, 'a bulk action id such as bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q')
    .openapi({ param: { name: 'id', in: 'path' } }),
});

/** What a queue's object answers for one page of a bulk action (durable-objects/bulk-desk.ts). */
export interface BulkPageAnswer {
  done: number;
  skipped: number;
  failed: number;
  problems: { job_id: string; reason: string }[];
}

/** One page of a bulk action handed to a queue's object: the ids are the tenant's, of that queue. */
export interface BulkPageRequest {
  bulk_id: string;
  tenant: string;
  action: 'cancel' | 'retry' | 'priority';
  ids: string[];
  priority: number | null;
  /** The filter's status, checked again against the object's own (authoritative) state. */
  status: JobStatus | null;
}
