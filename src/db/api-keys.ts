import { desc, eq, and, isNull } from 'drizzle-orm';
import type { Db } from './client';
import { apiKeys, type ApiKeyRow } from './schema';

export async function insertApiKey(db: Db, row: ApiKeyRow): Promise<void> {
  await db.insert(apiKeys).values(row);
}

export async function findApiKey(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  return db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
}

export async function listApiKeys(db: Db, tenant?: string): Promise<ApiKeyRow[]> {
  const q = db.select().from(apiKeys);
  return (tenant ? q.where(eq(apiKeys.tenant, tenant)) : q).orderBy(desc(apiKeys.createdAt));
}

/** Revokes a key; true when it existed and was live. */
export async function revokeApiKey(db: Db, id: string, nowMs: number): Promise<boolean> {
  const res = await db
    .update(apiKeys)
    .set({ revokedAt: nowMs })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .run();
  return res.meta.changes > 0;
}
