import { z } from '@hono/zod-openapi';
import { ExecutorName, JobId, JobType, Priority, QueueName, Timestamp, WorkerId } from './common';
import { BlobId, OutputBlob } from './blobs';
import { checkFlowFields, flowFields } from './flow-control';

/** The closed set of job states; the same list is the CHECK constraint in migrations/ and the diagram in docs/protocol.md. */
export const JOB_STATUSES = [
  'waiting',
  'scheduled',
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_BATCH_JOBS = 100;
/** A job may wait for at most this many others. */
export const MAX_DEPENDENCIES = 32;

/** A job id, or (in a batch) the index of another job of the same batch. */
export const DependencyRef = z
  .union([
    JobId,
    z
      .number()
      .int()
      .min(0)
      .max(MAX_BATCH_JOBS - 1),
  ])
  .openapi({
    description:
      'A job id of the same queue, or in POST /jobs/batch the index of another job of the batch',
  });

/** A label selector a node must match: `gpu` (the node has the label) or `region=eu` (it has that value). */
export const LabelSelector = z
  .string()
  .regex(/^[A-Za-z0-9_./-]{1,64}(=[A-Za-z0-9_./:-]{0,128})?$/, 'a label name, or name=value');

export const RetryBackoff = z
  .strictObject({
    type: z.enum(['fixed', 'exponential']).default('exponential'),
    base_sec: z
      .number()
      .min(0.1)
      .max(86_400)
      .optional()
      .openapi({ description: 'default BACKOFF_BASE_SEC' }),
    max_sec: z
      .number()
      .min(0.1)
      .max(86_400)
      .optional()
      .openapi({ description: 'default BACKOFF_MAX_SEC' }),
    jitter: z.boolean().default(false),
  })
  .openapi('RetryBackoff');
export type RetryBackoff = z.infer<typeof RetryBackoff>;

/** Bounds of a job's rate_limit: a key like a concurrency key, a day at most, 10,000 starts at most. */
export const MAX_RATE_LIMIT = 10_000;
export const MAX_RATE_PERIOD_SEC = 86_400;

export const RateLimit = z
  .strictObject({
    key: z.string().min(1).max(128).openapi({
      description: 'Jobs of the same queue with this key share the limit (keys are per queue)',
    }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_RATE_LIMIT)
      .openapi({
        description: `At most this many starts (1-${MAX_RATE_LIMIT}) in any window of period_sec`,
      }),
    period_sec: z
      .number()
      .int()
      .min(1)
      .max(MAX_RATE_PERIOD_SEC)
      .openapi({
        description: `The window, in seconds (1-${MAX_RATE_PERIOD_SEC})`,
      }),
  })
  .openapi('RateLimit', {
    description:
      'At most `limit` jobs with `key` start in any window of `period_sec`, across all nodes of the queue; every attempt counts, retries included. Jobs over it wait `queued` and hold no slot.',
  });
export type RateLimit = z.infer<typeof RateLimit>;

export const JobSubmit = z
  .strictObject({
    payload: z.json().openapi('JsonValue').optional().openapi({
      description:
        'A string or any JSON value, at most 64 KiB serialised (larger: upload it and give payload_blob)',
      example: 'hello',
    }),
    payload_blob: BlobId.optional().openapi({
      description:
        'Instead of payload: a blob from PUT /blobs (up to 100 MiB), handed to the job as if it were the payload',
    }),
    type: JobType.default('echo'),
    priority: Priority.default(1),
    timeout_sec: z.number().int().min(1).max(86_400).optional().openapi({
      description: 'Kill the job after this many seconds; default DEFAULT_TIMEOUT_SEC (300)',
    }),
    max_retries: z.number().int().min(0).max(10).default(3),
    queue: QueueName.default('default'),
    executor: ExecutorName.optional().openapi({
      description: 'Run only on a node offering this executor',
    }),
    delay_sec: z
      .number()
      .int()
      .min(0)
      .max(31_536_000)
      .optional()
      .openapi({ description: 'Hold the job `scheduled` this many seconds before queueing it' }),
    run_at: z
      .string()
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'RFC 3339 moment before which the job stays `scheduled`' }),
    concurrency_key: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .openapi({ description: 'At most concurrency_limit jobs with this key run at once' }),
    concurrency_limit: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .openapi({ description: 'Default 1 when concurrency_key is given' }),
    rate_limit: RateLimit.optional(),
    requires: z
      .array(LabelSelector)
      .max(16)
      .optional()
      .openapi({ description: 'Node labels the job needs, e.g. ["gpu", "region=eu"]' }),
    backoff: RetryBackoff.optional(),
    callback_url: z.string().url().max(2048).optional().openapi({
      description: 'POSTed the job and its result when it ends (signed; see docs/protocol.md)',
    }),
    failure_callback_url: z
      .string()
      .url()
      .max(2048)
      .optional()
      .openapi({ description: 'Used instead of callback_url when the job fails or is cancelled' }),
    depends_on: z
      .array(DependencyRef)
      .max(MAX_DEPENDENCIES)
      .optional()
      .openapi({
        description: `The job stays \`waiting\` until every one of these (at most ${MAX_DEPENDENCIES}) has succeeded, and is cancelled if one fails or is cancelled`,
      }),
    ...flowFields,
  })
  .superRefine(checkFlowFields)
  .refine((j) => j.delay_sec === undefined || j.run_at === undefined, {
    message: 'give delay_sec or run_at, not both',
    path: ['run_at'],
  })
  .refine((j) => j.concurrency_limit === undefined || j.concurrency_key !== undefined, {
    message: 'needs concurrency_key',
    path: ['concurrency_limit'],
  })
  .refine((j) => j.payload !== undefined || j.payload_blob !== undefined, {
    message: 'give payload or payload_blob',
    path: ['payload'],
  })
  .refine((j) => j.payload === undefined || j.payload_blob === undefined, {
    message: 'give payload or payload_blob, not both',
    path: ['payload_blob'],
  })
  .openapi('JobSubmit');
export type JobSubmit = z.infer<typeof JobSubmit>;

export const JobBatchSubmit = z
  .strictObject({ jobs: z.array(JobSubmit).min(1).max(MAX_BATCH_JOBS) })
  .openapi('JobBatchSubmit');

export const JobResult = z
  .object({
    executor: ExecutorName.nullable(),
    exit_code: z.number().int(),
    duration_ms: z.number().int().nonnegative(),
    output: z
      .unknown()
      .openapi({ description: "The runner's stdout, parsed as JSON when it is JSON" }),
    stderr: z.string(),
    timed_out: z.boolean(),
    output_truncated: z.boolean().optional().openapi({
      description:
        'Set when output was cut to the start of stdout, as text, to keep the stored result under 512 KiB',
    }),
    output_blob: OutputBlob.extend({ attempt: z.number().int().min(1) })
      .optional()
      .openapi({
        description: 'The whole stdout, when it was over 256 KiB: GET /jobs/:id/output streams it',
      }),
  })
  .openapi('JobResult');
export type JobResult = z.infer<typeof JobResult>;

export const Job = z
  .object({
    id: JobId,
    tenant: z.string(),
    queue: QueueName,
    type: JobType,
    payload: z.unknown(),
    payload_blob: BlobId.nullable().openapi({
      description: 'The uploaded blob the job runs with instead of an inline payload',
    }),
    priority: Priority,
    status: JobStatus,
    attempts: z.number().int().openapi({
      description: 'Dispatches so far; each dispatch is a new attempt with its own fencing token',
    }),
    max_retries: z.number().int(),
    timeout_sec: z.number().int(),
    executor: ExecutorName.nullable().openapi({
      description: 'The executor the submitter asked for, if any',
    }),
    concurrency_key: z.string().nullable(),
    concurrency_limit: z.number().int().nullable(),
    rate_limit: RateLimit.nullable(),
    requires: z.array(z.string()),
    backoff: RetryBackoff.nullable(),
    replay_of: z.string().nullable().openapi({ description: 'The job this one was replayed from' }),
    depends_on: z
      .array(JobId)
      .openapi({ description: 'The jobs this one waits for (`waiting` until all have succeeded)' }),
    callback_url: z.string().nullable(),
    failure_callback_url: z.string().nullable(),
    callback: z
      .object({
        url: z.string(),
        event: z.string(),
        status: z.enum(['pending', 'delivered', 'failed']),
        attempts: z.number().int(),
        last_status: z.number().int().nullable(),
        last_error: z.string().nullable(),
        next_attempt_at: Timestamp,
        delivered_at: Timestamp,
      })
      .nullable()
      .openapi({ description: 'The callback delivery of a finished job' }),
    progress: z
      .object({
        percent: z.number().nullable(),
        message: z.string().nullable(),
        attempt: z.number().int(),
        at: z.string().datetime(),
      })
      .nullable()
      .openapi({ description: 'The latest progress the running attempt reported' }),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
    started_at: Timestamp,
    finished_at: Timestamp,
    next_attempt_at: Timestamp.openapi({
      description: 'When a `scheduled` or `retrying` job will be queued',
    }),
    worker_id: WorkerId.nullable(),
    trace_id: z.string().nullable().openapi({
      description:
        "The W3C trace the job belongs to: its submission's `traceparent`, or one started for it (docs/protocol.md, section 1.10)",
    }),
    result: JobResult.nullable(),
    error: z.string().nullable(),
  })
  .openapi('Job');
export type Job = z.infer<typeof Job>;

const intParam = (min: number, max: number, dflt: number) =>
  z.coerce.number().int().min(min).max(max).default(dflt);

export const JobListQuery = z.strictObject({
  limit: intParam(1, 500, 50),
  offset: intParam(0, 1_000_000, 0),
  status: JobStatus.optional(),
  priority: z.coerce.number().pipe(Priority).optional(),
  type: JobType.optional(),
  queue: QueueName.optional(),
});
export type JobListQuery = z.infer<typeof JobListQuery>;

export const JobList = z
  .object({
    jobs: z.array(Job),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
  })
  .openapi('JobList');

export const JobIdParam = z.object({ id: JobId.openapi({ param: { name: 'id', in: 'path' } }) });
