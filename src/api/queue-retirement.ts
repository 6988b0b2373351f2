import type { Db } from '../db/client';
import { markBusy, markRetired, retireCandidates } from '../db/queues';
import type { Config, Env } from '../env';
import { log } from '../log';
import type { QueueStats } from '../protocol/queue-object';
import { schedulerFor } from './context';

/** At most this many queues retire per cron run, so one run stays short after a large cleanup. */
const RETIRE_PER_RUN = 50;

/**
 * The cron's part in the queue registry (docs/protocol.md, "Queues and tenants"). Every queue it
 * observed with a job or a node starts its idle time again; an active queue idle for longer than
 * QUEUE_IDLE_RETIRE_SEC, with no active schedule aimed at it, is retired: its Scheduler object
 * confirms it is empty (clearing its storage and alarm when nothing in it is still of use), then D1
 * leaves it out of every fan-out. Naming it again (a job, a node) brings it back.
 */
export async function retireIdleQueues(
  env: Env,
  db: Db,
  observed: { queue: string; stats: QueueStats }[],
  config: Config,
  now = Date.now(),
): Promise<string[]> {
  const busy = observed.filter(({ stats }) => isBusy(stats)).map((o) => o.queue);
  await markBusy(db, busy, now);
  if (config.QUEUE_IDLE_RETIRE_SEC === 0) return [];
  const cutoff = now - config.QUEUE_IDLE_RETIRE_SEC * 1000;
  const outcomesSince = now - config.IDEMPOTENCY_TTL_SEC * 1000;
  const retired: string[] = [];
  for (const queue of await retireCandidates(db, cutoff, RETIRE_PER_RUN)) {
    if (busy.includes(queue)) continue;
    const verdict = await schedulerFor(env, queue).retire(queue, cutoff, outcomesSince);
    if (!verdict.retired) {
      await markBusy(db, [queue], now); // something the cron did not see (a job just submitted)
      continue;
    }
    if (await markRetired(db, queue, now, cutoff)) {
      retired.push(queue);
      log({ event: 'queue_retired', queue, storage_cleared: verdict.cleared });
    }
  }
  return retired;
}

function isBusy(stats: QueueStats): boolean {
  return stats.workers.registered > 0 || Object.values(stats.by_status).some((n) => n > 0);
}
