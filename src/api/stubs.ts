/**
 * The API's ways to the singleton and per-key Durable Objects: each names the instance and returns
 * its stub, typed by the namespace in src/env.ts. They live in src/ so the API never imports
 * durable-objects/ (issue 14); the objects' own code reaches one another through them too. The
 * per-queue Scheduler's is `schedulerFor` (context.ts).
 */
import type { Env } from '../env';

/** The one ScheduleKeeper, which owns every recurring schedule and its timer. */
export function scheduleKeeperOf(env: Env) {
  return env.SCHEDULE_KEEPER.get(env.SCHEDULE_KEEPER.idFromName('schedules'));
}

/** The RateLimiter of one bucket key: a tenant's (`tenantBucket`), `admin`, or an address's. */
export function rateBucketOf(env: Env, key: string) {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
}

/** The BulkRunner of one bulk action (durable-objects/bulk-runner.ts), named by the action's id. */
export function bulkRunnerOf(env: Env, id: string) {
  return env.BULK_RUNNER.get(env.BULK_RUNNER.idFromName(id));
}
