import type { Context } from 'hono';
import { dbOf } from '../db/client';
import { DEFAULT_QUEUE, ownerOf } from '../db/queues';
import { ApiError } from './errors';
import { observeScope, type AppEnv } from './context';

/**
 * Who may pause, resume or cap a queue (docs/protocol.md, "Queue controls"): the operator (admin
 * token, or the anonymous quick start) any queue it knows; a tenant's API key only a queue that
 * tenant owns. A shared queue (`default`, or one a node or the operator created) serves every
 * tenant, so one tenant's key may not stop it for the others: 403 `queue_shared`. Another tenant's
 * queue is 403 `queue_owned_by_other_tenant`, as on submission; a queue never named is 404.
 */
export async function checkQueueControl(c: Context<AppEnv>, queue: string): Promise<void> {
  const owner = queue === DEFAULT_QUEUE ? { tenant: null } : await ownerOf(dbOf(c.env.DB), queue);
  if (!owner)
    throw new ApiError(404, 'queue_not_found', `name: no queue ${queue}`, {
      problems: [{ field: 'name', message: 'no such queue' }],
    });
  const tenant = observeScope(c);
  if (tenant === null || owner.tenant === tenant) return;
  if (owner.tenant === null) {
    const message = 'a shared queue serves every tenant: only the operator may pause or cap it';
    throw new ApiError(403, 'queue_shared', `name: ${message}`, {
      problems: [{ field: 'name', message }],
    });
  }
  const message = 'another tenant owns this queue';
  throw new ApiError(403, 'queue_owned_by_other_tenant', `name: ${message}`, {
    problems: [{ field: 'name', message }],
  });
}
