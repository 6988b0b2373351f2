import { z } from '@hono/zod-openapi';
import { ExecutorName, JobId, JobType, QueueName, WorkerId } from './common';
import { Credits, Standing } from './credits';

export const WORKER_STATUSES = ['active', 'draining'] as const;
export const WorkerStatus = z.enum(WORKER_STATUSES);
export type WorkerStatus = z.infer<typeof WorkerStatus>;

/**
 * `push`: the scheduler POSTs dispatches to the node's `url`. `pull`: the node has no reachable URL
 * (behind NAT, a laptop) and long-polls `POST /workers/{id}/lease` for its jobs instead.
 */
export const WorkerMode = z.enum(['push', 'pull']).openapi({
  description:
    '`push` (default): the scheduler POSTs jobs to `{url}/run`; `pull`: the node long-polls `POST /workers/{id}/lease`',
});
export type WorkerMode = z.infer<typeof WorkerMode>;

export const WorkerRegister = z
  .strictObject({
    id: WorkerId,
    mode: WorkerMode.default('push'),
    url: z.string().url().max(2048).optional().openapi({
      description:
        'Where the scheduler pushes dispatches: `{url}/run`. Required in push mode, not allowed in pull mode',
      example: 'http://localhost:9090',
    }),
    capacity: z.number().int().min(1).max(1024).default(1),
    types: z
      .array(JobType)
      .max(256)
      .optional()
      .openapi({ description: 'Job types this node runs; omitted means every type' }),
    executors: z.array(ExecutorName).min(1).max(2).default(['native']),
    queues: z.array(QueueName).min(1).max(32).default(['default']),
    labels: z.record(z.string().max(64), z.string().max(256)).optional(),
    protocol: z.number().int().min(1).max(1024).optional().openapi({
      description:
        'The highest wire version the node speaks (docs/protocol.md, "Wire versions"); default 1. The answer says which version to use',
    }),
  })
  .superRefine((r, ctx) => {
    if (r.mode === 'push' && r.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'required for a push node (mode "push", the default); a node nobody can reach registers with mode "pull"',
      });
    }
    if (r.mode === 'pull' && r.url !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'not allowed for a pull node: the scheduler never connects to it (it long-polls POST /workers/{id}/lease)',
      });
    }
  })
  .openapi('WorkerRegister');
export type WorkerRegister = z.infer<typeof WorkerRegister>;
/** What a node sends: `mode` may be left out (push). */
export type WorkerRegisterBody = z.input<typeof WorkerRegister>;

/** A lease the node holds: the job, the attempt (fencing epoch) and the token of that attempt. */
export const Lease = z.strictObject({
  job_id: JobId,
  attempt: z.number().int().min(1),
  token: z.string().min(1).max(128),
});
export type Lease = z.infer<typeof Lease>;

export const WorkerHeartbeat = z
  .strictObject({
    running: z.array(Lease).max(1024).default([]),
    draining: z.boolean().default(false),
    queues: z.array(QueueName).min(1).max(32).optional().openapi({
      description:
        'The queues the node registered for: only their schedulers hear the beat, and the API reads nothing from D1 for it. Without it (older nodes) every active queue is asked',
    }),
    credits: Credits.optional(),
  })
  .openapi('WorkerHeartbeat');
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;

export const HeartbeatAnswer = z
  .object({
    status: WorkerStatus,
    drain: z.boolean().openapi({ description: 'The scheduler asks the node to drain' }),
    kill: z.array(Lease).openapi({
      description:
        'Leases the node reported that are no longer its own: stop them and do not report them',
    }),
    heartbeat_interval_sec: z.number(),
    standing: Standing.optional(),
  })
  .openapi('HeartbeatAnswer');
export type HeartbeatAnswer = z.infer<typeof HeartbeatAnswer>;

export const WorkerView = z
  .object({
    id: WorkerId,
    // Optional in the type only so that older fixtures still type-check; every answer carries it.
    mode: WorkerMode.openapi({
      description:
        '`push`: the scheduler POSTs dispatches to `url`; `pull`: the node long-polls POST /workers/:id/lease',
    }),
    url: z.string().openapi({ description: 'The push URL; empty for a pull node' }),
    status: WorkerStatus,
    capacity: z.number().int(),
    running: z.number().int(),
    types: z.array(z.string()).nullable(),
    executors: z.array(ExecutorName),
    queues: z.array(QueueName),
    labels: z.record(z.string(), z.string()),
    registered_at: z.string().datetime(),
    last_heartbeat_at: z.string().datetime(),
    heartbeat_age_sec: z.number(),
  })
  .openapi('Worker');
export type WorkerView = z.infer<typeof WorkerView>;

export const WorkerIdParam = z.object({
  id: WorkerId.openapi({ param: { name: 'id', in: 'path' } }),
});
