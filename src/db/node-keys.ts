import { and, desc, eq, isNull } from 'drizzle-orm';
import type { NodeKeyBinding, NodeKeyScope } from '../core/node-key';
import type { Db } from './client';
import { nodeKeys, type NodeKeyRow } from './schema';

/** A node key as the code uses it: the row with its binding and scope parsed. */
export interface NodeKey {
  id: string;
  name: string | null;
  binding: NodeKeyBinding;
  scope: NodeKeyScope;
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

export function toNodeKey(r: NodeKeyRow): NodeKey {
  return {
    id: r.id,
    name: r.name,
    binding: { nodeId: r.nodeId, nodePrefix: r.nodePrefix },
    scope: {
      queues: JSON.parse(r.queues) as string[],
      labels: r.labels === null ? null : (JSON.parse(r.labels) as Record<string, string>),
    },
    secretHash: r.secretHash,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
  };
}

export async function insertNodeKey(db: Db, k: NodeKey): Promise<void> {
  await db.insert(nodeKeys).values({
    id: k.id,
    name: k.name,
    nodeId: k.binding.nodeId,
    nodePrefix: k.binding.nodePrefix,
    queues: JSON.stringify(k.scope.queues),
    labels: k.scope.labels === null ? null : JSON.stringify(k.scope.labels),
    secretHash: k.secretHash,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  });
}

export async function findNodeKey(db: Db, id: string): Promise<NodeKey | undefined> {
  const row = await db.select().from(nodeKeys).where(eq(nodeKeys.id, id)).get();
  return row && toNodeKey(row);
}

/** Newest first; `live` leaves out revoked keys. */
export async function listNodeKeys(db: Db, opts: { live?: boolean } = {}): Promise<NodeKey[]> {
  const q = db.select().from(nodeKeys);
  const rows = await (opts.live ? q.where(isNull(nodeKeys.revokedAt)) : q).orderBy(
    desc(nodeKeys.createdAt),
  );
  return rows.map(toNodeKey);
}

/** Marks the key revoked (once; a second call keeps the first time). The key, or undefined if unknown. */
export async function revokeNodeKey(
  db: Db,
  id: string,
  nowMs: number,
): Promise<NodeKey | undefined> {
  await db
    .update(nodeKeys)
    .set({ revokedAt: nowMs })
    .where(and(eq(nodeKeys.id, id), isNull(nodeKeys.revokedAt)))
    .run();
  return findNodeKey(db, id);
}
