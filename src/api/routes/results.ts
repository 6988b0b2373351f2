import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { ResultsAnswer, ResultsRequest } from '../../protocol/results';
import type { AppEnv } from '../context';
import { workerProtocol } from '../middleware/worker-auth';
import { errors, jsonBody } from '../openapi-helpers';
import { applyResults } from '../results-exchange';
import { WorkerIdParam } from '../../protocol/worker';

const results = createRoute({
  method: 'post',
  path: '/workers/{id}/results',
  tags: ['worker protocol'],
  summary:
    "Wire version 2: a node reports several attempts' results in one signed request; one verdict per result, in order",
  security: [{ workerToken: [] }],
  middleware: [...workerProtocol()] as const,
  request: { params: WorkerIdParam, body: jsonBody(ResultsRequest) },
  responses: {
    200: {
      description:
        'Every result was decided: `accepted`, or `refused` with the code POST /jobs/{id}/result would have answered (stale_attempt, worker_unknown)',
      content: { 'application/json': { schema: ResultsAnswer } },
    },
    ...errors(400, 401, 403, 404, 413, 415, 503),
  },
});

export const resultRoutes = new OpenAPIHono<AppEnv>();

resultRoutes.openapi(results, async (c) => {
  const id = c.req.valid('param').id;
  const { results, credits } = c.req.valid('json');
  const { verdicts, jobs, standing } = await applyResults(c.env, id, results, credits);
  // Version 3: the node's next leases ride the answer (only a node that sent credits gets any).
  return c.json({ results: verdicts, ...(credits ? { jobs, standing } : {}) }, 200);
});
