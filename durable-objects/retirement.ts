/**
 * What a Scheduler object checks before the cron retires its queue (src/api/queue-retirement.ts),
 * read from its own storage so it holds after an eviction as well as before.
 *
 * A queue may retire when it holds no job that is not finished, no node is registered with it, and
 * nothing was submitted to it or registered with it since `idleSince` (`active_at`, written in the
 * same transaction as a submission or a registration). Its storage may then be cleared as well, when
 * nothing else in it is still of use: no D1 write waiting or set aside, no callback to hand over, no
 * dependency edge, no finished job's outcome younger than `outcomesSince` (an idempotent retry
 * of a submission within IDEMPOTENCY_TTL_SEC must find its jobs, not create them again), and no
 * node key revoked since `revokedSince` (an API isolate may still hold such a key: this object is
 * what refuses it; src/core/node-key.ts).
 */
export const ACTIVE_AT = 'active_at';

export type RetireVerdict = 'busy' | 'retire' | 'retire_and_clear';

export function retireVerdict(
  sql: SqlStorage,
  idleSince: number,
  outcomesSince: number,
  revokedSince: number,
): RetireVerdict {
  const count = (query: string, ...params: unknown[]) =>
    sql.exec<{ n: number }>(query, ...params).one().n;
  const activeAt = sql
    .exec<{ v: string }>('SELECT v FROM meta WHERE k = ?', ACTIVE_AT)
    .toArray()[0]?.v;
  if (
    count('SELECT count(*) AS n FROM jobs') > 0 ||
    count('SELECT count(*) AS n FROM workers') > 0 ||
    Number(activeAt ?? 0) >= idleSince
  )
    return 'busy';
  const leftOver =
    count('SELECT count(*) AS n FROM outbox') +
    count('SELECT count(*) AS n FROM outbox_set_aside') +
    count('SELECT count(*) AS n FROM deliveries') +
    count('SELECT count(*) AS n FROM deps') +
    count('SELECT count(*) AS n FROM outcomes WHERE at >= ?', outcomesSince) +
    count('SELECT count(*) AS n FROM revoked_node_keys WHERE revoked_at >= ?', revokedSince) +
    // A pause, a cap and the starts of a rate-limit window outlast the queue's idle time.
    count('SELECT count(*) AS n FROM rate_starts') +
    count("SELECT count(*) AS n FROM meta WHERE k = 'controls'");
  return leftOver === 0 ? 'retire_and_clear' : 'retire';
}
