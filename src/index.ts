import { createApp } from './api/app';
import { configOf, type Env } from './env';
import { dbOf } from './db/client';
import { knownQueues } from './db/queues';
import { pruneIdempotencyKeys } from './db/idempotency';
import { schedulerFor } from './api/context';
import { log } from './log';

export { Scheduler } from '../durable-objects/scheduler';

const app = createApp();

export default {
  fetch: app.fetch,

  /** Once a minute: the backstop for the alarms. Reap, expire, reconcile every queue; prune idempotency keys. */
  async scheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
    if (!configOf(env).ok) return log({ event: 'cron_skipped', reason: 'config_invalid' });
    const db = dbOf(env.DB);
    const queues = await knownQueues(db);
    const results = await Promise.all(queues.map((q) => schedulerFor(env, q).reconcile(q)));
    await pruneIdempotencyKeys(db, Date.now());
    log({ event: 'cron_reconciled', queues: queues.length, imported: results.reduce((s, r) => s + r.imported, 0) });
  },
} satisfies ExportedHandler<Env>;
