import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './client';
import { blobs, type BlobRow } from './schema';
import { outputKey, payloadKey } from '../protocol/blobs';

/** An upload nothing refers to is deleted once it is this old (a job may be submitted a while after the upload). */
export const UNREFERENCED_BLOB_TTL_MS = 86_400_000;

export async function insertBlob(db: Db, row: BlobRow): Promise<void> {
  // An output uploaded again by the same attempt (a retried upload) replaces its row.
  await db
    .insert(blobs)
    .values(row)
    .onConflictDoUpdate({
      target: blobs.id,
      set: { size: row.size, sha256: row.sha256, createdAt: row.createdAt },
    });
}

/** The tenant's uploads among `ids`; another tenant's blob is as absent as an unknown one. */
export async function payloadBlobsOf(db: Db, tenant: string, ids: string[]): Promise<BlobRow[]> {
  const out: BlobRow[] = [];
  // D1 binds at most 100 parameters per statement.
  for (let i = 0; i < ids.length; i += 90) {
    out.push(
      ...(await db
        .select()
        .from(blobs)
        .where(
          and(
            eq(blobs.kind, 'payload'),
            eq(blobs.tenant, tenant),
            inArray(blobs.id, ids.slice(i, i + 90)),
          ),
        )
        .all()),
    );
  }
  return out;
}

/** `tenant` null: any tenant (the admin, and the signed download). */
export async function payloadBlob(
  db: Db,
  tenant: string | null,
  id: string,
): Promise<BlobRow | undefined> {
  const scope = tenant === null ? undefined : eq(blobs.tenant, tenant);
  return db
    .select()
    .from(blobs)
    .where(and(eq(blobs.kind, 'payload'), eq(blobs.id, id), scope))
    .get();
}

/**
 * Blobs nothing refers to any more, older than a day: uploads no job in D1 names (never used, or
 * every job that used them was pruned by RETENTION_DAYS), and outputs of jobs that were pruned.
 * Deleted from R2 first and then from D1, so a run cut short is finished by the next one. At most
 * `batch` (under D1's 100 bound parameters) per call.
 */
export async function pruneBlobs(
  db: Db,
  bucket: R2Bucket,
  nowMs: number,
  batch = 90,
): Promise<number> {
  const rows = await db
    .select({ id: blobs.id, kind: blobs.kind, jobId: blobs.jobId })
    .from(blobs)
    .where(
      sql`${blobs.createdAt} < ${nowMs - UNREFERENCED_BLOB_TTL_MS} AND (
        (${blobs.kind} = 'payload' AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.payload_blob = ${blobs.id}))
        OR (${blobs.kind} = 'output' AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = ${blobs.jobId})))`,
    )
    .limit(batch)
    .all();
  if (rows.length === 0) return 0;
  await bucket.delete(
    rows.map((r) =>
      r.kind === 'payload'
        ? payloadKey(r.id)
        : outputKey(r.jobId!, Number(r.id.slice(r.id.lastIndexOf('/') + 1))),
    ),
  );
  await db
    .delete(blobs)
    .where(
      inArray(
        blobs.id,
        rows.map((r) => r.id),
      ),
    )
    .run();
  return rows.length;
}
