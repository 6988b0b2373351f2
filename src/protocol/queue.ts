import { z } from '@hono/zod-openapi';
import { QueueName } from './common';

/** The most a queue's cap may be: far above any pool of nodes, low enough to be a typo's bound. */
export const MAX_QUEUE_CONCURRENCY = 100_000;

export const QueueNameParam = z.object({
  name: QueueName.openapi({ param: { name: 'name', in: 'path' } }),
});

/** `PUT /queues/:name`: the queue's cap on running jobs, or null to clear it. */
export const QueueUpdate = z
  .strictObject({
    concurrency_limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_QUEUE_CONCURRENCY)
      .nullable()
      .openapi({
        description: `At most this many of the queue's jobs run at once across all its nodes (1-${MAX_QUEUE_CONCURRENCY}); null removes the cap. Lowering it stops no running job.`,
      }),
  })
  .openapi('QueueUpdate');
export type QueueUpdate = z.infer<typeof QueueUpdate>;

/** A queue's operator settings, as every control route answers them. */
export const QueueSettings = z
  .object({
    queue: QueueName,
    paused: z.boolean().openapi({
      description: 'A paused queue accepts jobs and starts none; running jobs finish',
    }),
    concurrency_limit: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The cap on the queue's running jobs, null when none" }),
  })
  .openapi('QueueSettings');
export type QueueSettings = z.infer<typeof QueueSettings>;
