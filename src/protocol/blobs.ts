import { z } from '@hono/zod-openapi';

/**
 * Large payloads and outputs travel through R2 instead of inline (docs/protocol.md, "Large payloads
 * and results"). Inline stays as it was: a payload of at most 64 KiB serialised, and at most 256 KiB
 * of stdout stored with the result.
 */
export const MAX_BLOB_BYTES = 100 * 1024 * 1024;
/** Output over this many bytes is uploaded whole as an output blob (the scheduler stores 256 KiB inline). */
export const INLINE_OUTPUT_BYTES = 256 * 1024;
/** A signed blob URL stays valid this long after the job's own timeout would end. */
export const BLOB_URL_SLACK_SEC = 15 * 60;

/** `blob_<ulid>`: time-ordered like job ids. */
export const BlobId = z
  .string()
  .regex(
    /^blob_[0-9A-HJKMNP-TV-Z]{26}$/,
    'a blob id such as blob_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q (from PUT /blobs)',
  )
  .openapi({ example: 'blob_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q' });

export const BlobView = z
  .object({
    id: BlobId,
    size: z.number().int().nonnegative(),
    created_at: z.string().datetime(),
  })
  .openapi('Blob');
export type BlobView = z.infer<typeof BlobView>;

/** What a node reports about the output it uploaded, and what the job's result shows. */
export const OutputBlob = z
  .object({
    size: z.number().int().nonnegative().max(MAX_BLOB_BYTES),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  })
  .openapi('OutputBlob');
export type OutputBlob = z.infer<typeof OutputBlob>;

/** R2 keys: uploads by id; outputs by job and attempt, so a stale attempt cannot overwrite the current one. */
export const payloadKey = (id: string) => `payloads/${id}`;
export const outputKey = (jobId: string, attempt: number) => `outputs/${jobId}/${attempt}`;
export const outputPath = (jobId: string, attempt: number) =>
  `/blobs/result/${encodeURIComponent(jobId)}/${attempt}`;
export const payloadPath = (id: string) => `/blobs/${id}`;
