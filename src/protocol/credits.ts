import { z } from '@hono/zod-openapi';
import { QueueName } from './common';

/**
 * Wire version 3 (docs/protocol.md, "Credits"): a node serving several queues grants each queue's
 * scheduler how many of its leases that queue may hold on it, and the grants never sum past its
 * slots plus prefetch; the schedulers' answers say, per queue, what waits there and what it holds
 * on the node, so the node can move a slot to where the work is.
 */
export const MAX_CREDIT = 1024 + 8;

/** The grants a message carries, by queue: on a heartbeat all of them, on a results request those that changed. */
export const Credits = z
  .record(QueueName, z.number().int().min(0).max(MAX_CREDIT))
  .refine((c) => Object.keys(c).length <= 32, 'at most 32 queues')
  .openapi('Credits', {
    description:
      'Wire version 3: per queue, the most leases its scheduler may hold on this node (running, queued on the node, or on their way). The node keeps their sum within its capacity plus prefetch',
    example: { emails: 1, thumbnails: 1 },
  });
export type Credits = z.infer<typeof Credits>;

/** One queue's word to a node that grants credits: what it could give the node, what it holds there. */
export const QueueStanding = z
  .object({
    queued: z.number().int().openapi({ description: 'Jobs waiting in the queue now' }),
    held: z.number().int().openapi({
      description: 'Leases the queue counts on this node, dispatches still on their way included',
    }),
  })
  .openapi('QueueStanding');
export type QueueStanding = z.infer<typeof QueueStanding>;

export const Standing = z.record(QueueName, QueueStanding).openapi({
  description:
    'Wire version 3, when the request carried `credits`: each queue asked, after it applied this request',
});
export type Standing = z.infer<typeof Standing>;
