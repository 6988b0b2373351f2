import { createApp } from './api/app';
import { configOf, type Env } from './env';
import { dbOf } from './db/client';
import { knownQueues } from './db/queues';
import { pruneIdempotencyKeys } from './db/idempotency';
import { pruneDedupKeys } from './db/dedup-keys';
import { pruneFinishedJobs } from './db/dead-letters';
import { pruneBlobs } from './db/blobs';
import { schedulerFor } from './api/context';
import { retireIdleQueues } from './api/queue-retirement';
import { scheduleKeeperOf } from './api/stubs';
import { log } from './log';

export { Scheduler } from '../durable-objects/scheduler';

/** RETENTION_DAYS: finished jobs older than that are deleted, 500 at a time, at most 20 batches a run. */
async function pruneRetention(
  db: ReturnType<typeof dbOf>,
  config: ReturnType<typeof configOf>,
): Promise<number> {
  if (!config.ok || config.config.RETENTION_DAYS === 0) return 0;
  const before = Date.now() - config.config.RETENTION_DAYS * 86_400_000;
  let total = 0;
  for (let i = 0; i < 20; i++) {
    const n = await pruneFinishedJobs(db, before, 500);
    total += n;
    if (n < 500) break;
  }
  return total;
}
export { RateLimiter } from '../durable-objects/rate-limiter';
export { ScheduleKeeper } from '../durable-objects/schedules';
export { Courier } from '../durable-objects/courier';
export { BulkRunner } from '../durable-objects/bulk-runner';

const app = createApp();

export default {
  fetch: app.fetch,

  /** Once a minute: the backstop for the alarms. Reap, expire, reconcile every queue; prune idempotency keys. */
  async scheduled(
    _controller: ScheduledController,
    env: Env,
    _ctx: ExecutionContext,
  ): Promise<void> {
    const config = configOf(env);
    if (!config.ok) return log({ event: 'cron_skipped', reason: 'config_invalid' });
    const db = dbOf(env.DB);
    const queues = await knownQueues(db);
    const results = await Promise.all(queues.map((q) => schedulerFor(env, q).reconcile(q)));
    // A depth sample and an autoscaling re-evaluation at least once a minute, even when nobody polls.
    const observed = await Promise.all(
      queues.map(async (q) => ({ queue: q, stats: (await schedulerFor(env, q).observe(q)).stats })),
    );
    const retired = await retireIdleQueues(env, db, observed, config.config).catch((e: unknown) => {
      log({ event: 'queue_retirement_failed', error: String(e).slice(0, 300) });
      return [];
    });
    // Recurring schedules whose alarm was lost fire here; a tick is idempotent, so racing the alarm is harmless.
    await scheduleKeeperOf(env)
      .tick()
      .catch((e: unknown) =>
        log({ event: 'schedule_backstop_failed', error: String(e).slice(0, 300) }),
      );
    await pruneIdempotencyKeys(db, Date.now());
    await pruneDedupKeys(db, Date.now());
    const pruned = await pruneRetention(db, configOf(env));
    const prunedBlobs = await pruneBlobs(db, env.BLOBS, Date.now()).catch((e: unknown) => {
      log({ event: 'blob_prune_failed', error: String(e).slice(0, 300) });
      return 0;
    });
    log({
      event: 'cron_reconciled',
      queues: queues.length,
      retired_queues: retired.length,
      imported: results.reduce((s, r) => s + r.imported, 0),
      pruned,
      pruned_blobs: prunedBlobs,
    });
  },
} satisfies ExportedHandler<Env>;
