import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { QueueNameParam, QueueSettings, QueueUpdate } from '../../protocol/queue';
import type { QueueControls } from '../../core/engine/flow';
import { schedulerFor, type AppEnv } from '../context';
import { errors, jsonBody } from '../openapi-helpers';
import { checkQueueControl } from '../queue-control';
import { spendJobTokens } from '../middleware/rate-limit';

const answer = { 'application/json': { schema: QueueSettings } };
// Every control: a field-named 400, the key refused (401), not the caller's queue (403), no such
// queue (404), over the caller's rate (429).
const refusals = errors(400, 401, 403, 404, 429);

const action = (verb: 'pause' | 'resume', summary: string) =>
  createRoute({
    method: 'post',
    path: `/queues/{name}/${verb}`,
    tags: ['queues'],
    summary,
    request: { params: QueueNameParam },
    responses: { 200: { description: "The queue's settings", content: answer }, ...refusals },
  });

const pause = action(
  'pause',
  'Pause a queue: it accepts jobs and starts none until resumed; running jobs finish (pausing a paused queue changes nothing)',
);
const resume = action('resume', 'Resume a paused queue: its waiting jobs start at once');

const update = createRoute({
  method: 'put',
  path: '/queues/{name}',
  tags: ['queues'],
  summary: "Set the queue's cap on running jobs across all its nodes (null clears it)",
  request: { params: QueueNameParam, body: jsonBody(QueueUpdate) },
  responses: { 200: { description: "The queue's settings", content: answer }, ...refusals },
});

/** Checks the caller may control the queue, spends one of its tokens, and changes the object. */
async function control(
  c: Parameters<typeof checkQueueControl>[0],
  name: string,
  change: Partial<QueueControls>,
): Promise<QueueSettings> {
  await checkQueueControl(c, name);
  // Rate limited like submissions: each change takes one of the caller's RATE_LIMIT_JOBS_PER_MIN.
  await spendJobTokens(c, 1, 'this queue change');
  const controls = await schedulerFor(c.env, name).controls(name, change);
  return { queue: name, ...controls };
}

// Chained, so the typed client (src/client.ts) knows these routes.
export const queueRoutes = new OpenAPIHono<AppEnv>()
  .openapi(pause, async (c) =>
    c.json(await control(c, c.req.valid('param').name, { paused: true }), 200),
  )
  .openapi(resume, async (c) =>
    c.json(await control(c, c.req.valid('param').name, { paused: false }), 200),
  )
  .openapi(update, async (c) =>
    c.json(
      await control(c, c.req.valid('param').name, {
        concurrency_limit: c.req.valid('json').concurrency_limit,
      }),
      200,
    ),
  );
