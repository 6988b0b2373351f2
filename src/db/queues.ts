import { queues } from './schema';
import type { Db } from './client';

/** Every queue that has been used, and `default`: the scheduler shards the API fans out to. */
export async function knownQueues(db: Db): Promise<string[]> {
  const rows = await db.select({ name: queues.name }).from(queues);
  return [...new Set(['default', ...rows.map((r) => r.name)])].sort();
}

export async function recordQueues(db: Db, names: string[], nowMs: number): Promise<void> {
  if (names.length === 0) return;
  await db
    .insert(queues)
    .values(names.map((name) => ({ name, createdAt: nowMs })))
    .onConflictDoNothing();
}
