import type { Context } from 'hono';
import { dbOf } from '../db/client';
import { claimQueue, DEFAULT_QUEUE } from '../db/queues';
import { ApiError } from './errors';
import { observeScope, type AppEnv } from './context';

/**
 * Every path that puts jobs in a queue names it through here first: submit, batch, replay, bulk
 * replay and POST /schedules (docs/protocol.md, "Queues and tenants").
 *
 * A queue belongs to the tenant whose API key created it; another tenant naming it gets 403
 * `queue_owned_by_other_tenant`. A tenant has at most MAX_QUEUES_PER_TENANT active queues (retired
 * ones do not count); creating one more is 409 `queue_limit_reached`. `default` and queues created by
 * the operator (admin token, anonymous quick start) or by a node registering are shared. The operator
 * is not checked at all: the quick start without keys works as before.
 */
export async function claimQueueFor(
  c: Context<AppEnv>,
  queue: string,
  field: string,
  tenant: string = c.get('tenant'),
): Promise<void> {
  if (observeScope(c) === null || queue === DEFAULT_QUEUE) return;
  // One D1 read per submission, not cached in the isolate: a queue another isolate's cron retired
  // must count against the limit again when it comes back (test/workers/queue-registry.test.ts).
  const limit = c.get('config').MAX_QUEUES_PER_TENANT;
  const claim = await claimQueue(dbOf(c.env.DB), queue, tenant, limit, Date.now());
  if (claim.ok) return;
  if (claim.reason === 'owned_by_other_tenant') {
    const message = 'another tenant created this queue: choose another name';
    throw new ApiError(403, 'queue_owned_by_other_tenant', `${field}: ${message}`, {
      problems: [{ field, message }],
    });
  }
  const message = `the tenant has ${claim.active} active queues, the limit is ${limit} (MAX_QUEUES_PER_TENANT): use one of them, or wait for an idle one to retire`;
  throw new ApiError(409, 'queue_limit_reached', `${field}: ${message}`, {
    problems: [{ field, message }],
    limit,
  });
}
