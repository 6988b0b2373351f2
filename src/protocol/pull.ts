import { z } from '@hono/zod-openapi';
import { QueueName } from './common';
import { Credits, Standing } from './credits';
import { LeasedJob } from './dispatch';
import { MAX_PREFETCH, ResultItems, ResultVerdict } from './results';

/** The longest a lease request may wait for work: under the usual 60 s idle timeout of proxies and NATs. */
export const MAX_LEASE_WAIT_SEC = 30;
export const DEFAULT_LEASE_WAIT_SEC = 25;

/** Body of `POST /workers/:id/lease`, the long poll of a pull node. */
export const LeaseRequest = z
  .strictObject({
    max_jobs: z
      .number()
      .int()
      .min(1)
      .max(1024 + MAX_PREFETCH)
      .optional()
      .openapi({
        description:
          "At most this many jobs (at most the node's capacity plus `prefetch`); default: its free capacity as the scheduler sees it",
      }),
    prefetch: z
      .number()
      .int()
      .min(0)
      .max(MAX_PREFETCH)
      .optional()
      .openapi({
        description: `Wire version 2: the node may hold this many leases beyond its capacity, queued locally to start the moment a slot frees (0 to ${MAX_PREFETCH}, default 0)`,
      }),
    results: ResultItems.optional().openapi({
      description:
        'Wire version 2: finished attempts, applied before any job is leased (their slots are free again); the answer has one verdict per result, in order',
    }),
    wait_sec: z
      .number()
      .min(0)
      .max(MAX_LEASE_WAIT_SEC)
      .default(DEFAULT_LEASE_WAIT_SEC)
      .openapi({
        description: `How long to wait for work before answering with no jobs (0 to ${MAX_LEASE_WAIT_SEC}, default ${DEFAULT_LEASE_WAIT_SEC})`,
      }),
    queues: z.array(QueueName).min(1).max(32).optional().openapi({
      description:
        'The queues the node registered for: only their schedulers are asked. Default: every active queue (a read of the registry in D1)',
    }),
    credits: Credits.optional(),
  })
  .openapi('LeaseRequest');
export type LeaseRequest = z.infer<typeof LeaseRequest>;

/** The jobs leased to the node: the same objects a push dispatch carries, with the same fencing. */
export const LeaseAnswer = z
  .object({
    jobs: z.array(LeasedJob).openapi({ description: 'Empty when wait_sec passed with no work' }),
    results: z.array(ResultVerdict).optional().openapi({
      description:
        'One verdict per result the request carried, in order (only when it carried some)',
    }),
    standing: Standing.optional(),
  })
  .openapi('LeaseAnswer');
export type LeaseAnswer = z.infer<typeof LeaseAnswer>;
