import { z } from '@hono/zod-openapi';

/** Priority 0 is high, 1 normal (the default), 2 low. */
export const Priority = z
  .union([z.literal(0), z.literal(1), z.literal(2)], {
    error: 'must be 0 (high), 1 (normal) or 2 (low)',
  })
  .openapi({ description: '0 high, 1 normal (default), 2 low' });
export type Priority = z.infer<typeof Priority>;

export const QueueName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, "_" and "-", 1 to 64 characters')
  .openapi({ example: 'default' });

export const JobType = z
  .string()
  .regex(
    /^[a-z][a-z0-9_.-]{0,63}$/,
    'lowercase letters, digits, "_", "." and "-", starting with a letter, at most 64 characters',
  )
  .openapi({ example: 'echo' });

export const ExecutorName = z.enum(['native', 'wasm']);
export type ExecutorName = z.infer<typeof ExecutorName>;

/** `<queue>.<ulid>`: the queue in the id lets a lookup go straight to the queue's scheduler shard. */
export const JobId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}\.[0-9A-HJKMNP-TV-Z]{26}$/,
    'a job id such as default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q',
  )
  .openapi({ example: 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q' });

export const WorkerId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
    'letters, digits, "_", ".", ":" and "-", at most 128 characters',
  )
  .openapi({ example: 'node-1:9090' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Timestamps on the wire are RFC 3339 strings in UTC, or null when the moment has not happened. */
export const Timestamp = z.string().datetime().nullable();
