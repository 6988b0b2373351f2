import { z } from '@hono/zod-openapi';
import { Priority } from './common';

// Flow control on a job (docs/protocol.md 1.11): debounce and dedup on submit, and the edit of a
// job that has not started. The fields live on JobSubmit (job.ts); their shapes and bounds here.

/** Bounds of the flow-control fields (docs/protocol.md 1.11). */
export const MAX_DEBOUNCE_SEC = 86_400;
export const MAX_DEDUP_TTL_SEC = 7 * 86_400;
export const DEFAULT_DEDUP_TTL_SEC = 3600;
export const FlowKey = z.string().min(1).max(128);

export const Debounce = z
  .strictObject({
    key: FlowKey.openapi({
      description: 'Submissions with this key (per tenant and queue) debounce',
    }),
    delay_sec: z.number().int().min(1).max(MAX_DEBOUNCE_SEC).openapi({
      description: 'The job runs this long after the last submission with its key',
    }),
  })
  .openapi('Debounce');
export type Debounce = z.infer<typeof Debounce>;

/** `PATCH /jobs/:id`: what may change of a job that has not started. */
export const JobEdit = z
  .strictObject({
    priority: Priority.optional(),
    run_at: z
      .string()
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'RFC 3339: the job waits `scheduled` until then; past means now' }),
    delay_sec: z
      .number()
      .int()
      .min(0)
      .max(31_536_000)
      .optional()
      .openapi({ description: 'The job waits `scheduled` this many seconds from now' }),
  })
  .refine((e) => e.delay_sec === undefined || e.run_at === undefined, {
    message: 'give delay_sec or run_at, not both',
    path: ['run_at'],
  })
  .refine((e) => e.priority !== undefined || e.run_at !== undefined || e.delay_sec !== undefined, {
    message: 'give priority, run_at or delay_sec',
    path: ['priority'],
  })
  .openapi('JobEdit');
export type JobEdit = z.infer<typeof JobEdit>;

/** The flow-control fields of JobSubmit. */
export const flowFields = {
  debounce: Debounce.optional().openapi({
    description:
      'Later submissions with the same key, within delay_sec of the last one, replace this pending job (the last payload wins); it runs once, delay_sec after the last',
  }),
  dedup_key: FlowKey.optional().openapi({
    description:
      'A second submission with this key (per tenant, across queues) within dedup_ttl_sec answers 200 with the first job, whatever its status',
  }),
  dedup_ttl_sec: z
    .number()
    .int()
    .min(1)
    .max(MAX_DEDUP_TTL_SEC)
    .optional()
    .openapi({ description: `How long dedup_key holds; default ${DEFAULT_DEDUP_TTL_SEC}` }),
};

/** How the flow-control fields combine with each other and with the rest of a submission. */
export function checkFlowFields(
  j: {
    debounce?: Debounce;
    dedup_key?: string;
    dedup_ttl_sec?: number;
    delay_sec?: number;
    run_at?: string;
    depends_on?: unknown[];
  },
  ctx: z.RefinementCtx,
): void {
  const problem = (path: string, message: string) =>
    ctx.addIssue({ code: 'custom', message, path: [path] });
  if (j.debounce && (j.delay_sec !== undefined || j.run_at !== undefined))
    problem('debounce', 'debounce sets when the job runs: give no delay_sec or run_at with it');
  if (j.debounce && j.depends_on?.length)
    problem('debounce', 'a debounced job cannot wait for other jobs');
  if (j.debounce && j.dedup_key !== undefined)
    problem('dedup_key', 'give debounce or dedup_key, not both');
  if (j.dedup_ttl_sec !== undefined && j.dedup_key === undefined)
    problem('dedup_ttl_sec', 'needs dedup_key');
}

/** What the answer to `POST /jobs` adds when it names a job other than a new one (200). */
export const SubmitFlags = {
  debounced: z.literal(true).optional().openapi({
    description: 'The submission went into the pending job of its debounce key: this job runs',
  }),
  deduplicated: z.literal(true).optional().openapi({
    description: 'The dedup_key was taken within its window: this is the first job, unchanged',
  }),
};
