import { z } from '@hono/zod-openapi';
import { JobId } from './common';
import { Credits, Standing } from './credits';
import { LeasedJob, ResultReport } from './dispatch';

/**
 * Wire version 2 (docs/protocol.md, "Wire versions"): results travel in batches, one signature per
 * request, and a pull node's lease request carries the results it has finished. Version 3: the node
 * grants each queue credits, and a push node's results answer carries its next leases. A node says
 * the highest it speaks in its registration (`protocol`); the registration answer says what to use.
 */
export const WIRE_PROTOCOL = 3;

/** At most this many results in one request: one Scheduler RPC per queue carries them all. */
export const MAX_RESULTS_PER_REQUEST = 64;
/** The largest body of a batched report: one result alone may be that of POST /jobs/:id/result. */
export const MAX_RESULTS_BODY_BYTES = 4 * 1024 * 1024;
/** The most jobs a pull node may hold beyond its capacity, waiting in its local queue. */
export const MAX_PREFETCH = 8;

/** One finished attempt in a batch: the per-job report, naming its job; the node is the path's. */
export const ResultItem = ResultReport.omit({ worker_id: true })
  .extend({ job_id: JobId })
  .openapi('ResultItem');
export type ResultItem = z.infer<typeof ResultItem>;
export type ResultItemBody = z.input<typeof ResultItem>;

export const ResultItems = z
  .array(ResultItem)
  .max(MAX_RESULTS_PER_REQUEST)
  .openapi({
    description: `Finished attempts of this node, at most ${MAX_RESULTS_PER_REQUEST}; each is fenced by its attempt and token`,
  });

/** Body of `POST /workers/:id/results`: results, and (version 3) grants that changed; never nothing. */
export const ResultsRequest = z
  .strictObject({ results: ResultItems, credits: Credits.optional() })
  .superRefine((r, ctx) => {
    if (r.results.length === 0 && r.credits === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['results'],
        message: 'at least one result, unless the request carries credits',
      });
  })
  .openapi('ResultsRequest');
export type ResultsRequest = z.infer<typeof ResultsRequest>;

/**
 * The scheduler's word on one result, in the order they were sent. `accepted`: recorded, `status` is
 * the job's state after it. Otherwise the code POST /jobs/:id/result would have answered with
 * (`stale_attempt`: this attempt no longer holds the job; `worker_unknown`: the queue's scheduler
 * does not know this node): either way the node drops the result, as it would on a 409 or 404.
 */
export const ResultVerdict = z
  .object({
    job_id: JobId,
    verdict: z.enum(['accepted', 'refused']),
    status: z.string().optional().openapi({ description: 'The job state, when accepted' }),
    code: z.string().optional().openapi({ description: 'Why it was refused' }),
    message: z.string().optional(),
  })
  .openapi('ResultVerdict');
export type ResultVerdict = z.infer<typeof ResultVerdict>;

export const ResultsAnswer = z
  .object({
    results: z.array(ResultVerdict),
    jobs: z.array(LeasedJob).optional().openapi({
      description:
        'Wire version 3, a push node that sent `credits`: its next leases, started as accepted dispatches are',
    }),
    standing: Standing.optional(),
  })
  .openapi('ResultsAnswer');
export type ResultsAnswer = z.infer<typeof ResultsAnswer>;
