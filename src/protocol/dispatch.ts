import { z } from '@hono/zod-openapi';
import { ExecutorName, JobId, JobType, QueueName, WorkerId } from './common';
import { Lease } from './worker';
import { BlobId, OutputBlob } from './blobs';

/** A W3C traceparent as the API stores it: always version 00, lowercase hex (src/core/trace-context.ts). */
export const Traceparent = z
  .string()
  .regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'a version-00 W3C traceparent');

/** One job as the scheduler pushes it to a node's `POST /run`. */
export const DispatchedJob = Lease.extend({
  queue: QueueName,
  type: JobType,
  payload: z.json(),
  timeout_sec: z.number().int().min(1),
  executor: ExecutorName.nullable(),
  /** A blob job: `payload` is null and the node fetches the payload from `payload_url`. */
  payload_blob: BlobId.optional(),
  /** Signed, expiring paths on the API (relative to the node's API_URL; docs/protocol.md section 2.7). */
  payload_url: z.string().startsWith('/blobs/').max(512).optional(),
  result_upload_url: z.string().startsWith('/blobs/result/').max(512).optional(),
  /** W3C trace context of the job (docs/protocol.md, section 1.10): the node's spans are its children. */
  traceparent: Traceparent.optional(),
  tracestate: z.string().max(512).optional(),
});
export type DispatchedJob = z.infer<typeof DispatchedJob>;

/**
 * Jobs as a lease answer carries them (the same objects, and fencing, as a push dispatch). The
 * payload is named `JsonValue`, as in the job schema: the OpenAPI generator cannot inline
 * z.json()'s recursive schema.
 */
export const LeasedJob = DispatchedJob.extend({
  payload: z.json().openapi('JsonValue').openapi({ description: 'The job payload, as submitted' }),
}).openapi('LeasedJob');

/** Body of `POST {node}/run`; several jobs for one node travel in one request. */
export const DispatchRequest = z.strictObject({
  worker_id: WorkerId,
  jobs: z.array(DispatchedJob).min(1).max(256),
});
export type DispatchRequest = z.infer<typeof DispatchRequest>;

/** A node answers 202 with the jobs it took; the rest go back to the queue without costing a retry. */
export const DispatchAnswer = z.object({
  accepted: z.array(JobId),
  rejected: z.array(z.object({ job_id: JobId, reason: z.string() })).default([]),
});
export type DispatchAnswer = z.infer<typeof DispatchAnswer>;

/** Body of `POST {node}/cancel`: stop these attempts. */
export const CancelRequest = z.strictObject({
  worker_id: WorkerId,
  jobs: z.array(Lease).min(1).max(256),
});
export type CancelRequest = z.infer<typeof CancelRequest>;

const MAX_OUTPUT = 1024 * 1024 + 64;

/** Body of `POST /jobs/:id/result`, sent by the node that holds the lease. */
export const ResultReport = z
  .strictObject({
    worker_id: WorkerId,
    attempt: z.number().int().min(1),
    token: z.string().min(1).max(128),
    exit_code: z.number().int().min(-1).max(255).openapi({
      description:
        'The runner exit code (137 when the node killed it); -1 when the node could not run it at all (`error` says why)',
    }),
    stdout: z.string().max(MAX_OUTPUT),
    stderr: z.string().max(MAX_OUTPUT),
    duration_ms: z
      .number()
      .min(0)
      .max(864e5 * 365)
      .openapi({ description: 'Wall time of the run in ms (fractions are rounded)' }),
    executor: ExecutorName.nullable(),
    timed_out: z.boolean().default(false),
    error: z
      .string()
      .max(4096)
      .optional()
      .openapi({ description: 'Why the node could not run the job at all' }),
    output_blob: OutputBlob.optional().openapi({
      description:
        "The whole stdout was uploaded to this attempt's result_upload_url; stdout holds its start",
    }),
  })
  .openapi('ResultReport');
export type ResultReport = z.infer<typeof ResultReport>;

/** Body of `POST /jobs/:id/progress`: a running attempt's progress and new log lines. */
export const ProgressReport = z
  .strictObject({
    worker_id: WorkerId,
    attempt: z.number().int().min(1),
    token: z.string().min(1).max(128),
    percent: z.number().min(0).max(100).optional(),
    message: z.string().max(512).optional(),
    logs: z.array(z.string().max(2048)).max(100).optional(),
  })
  .openapi('ProgressReport');
export type ProgressReport = z.infer<typeof ProgressReport>;

/** Runner exit codes that no retry can fix (bad payload, unknown type): the job fails at once. */
export const PERMANENT_EXIT_CODES: readonly number[] = [3, 4];

export const SIGNATURE_HEADER = 'X-Cloud-Signature';
export const TIMESTAMP_HEADER = 'X-Cloud-Timestamp';
/** A signed request older (or newer) than this is refused as stale. */
export const SIGNATURE_MAX_AGE_MS = 5 * 60 * 1000;
