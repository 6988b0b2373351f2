import type { Db } from '../db/client';
import { payloadBlobsOf } from '../db/blobs';
import type { JobSubmit } from '../protocol/job';
import { ApiError } from './errors';

/** Every payload_blob must be an upload of the submitting tenant; another tenant's is as unknown as a made-up id. */
export async function checkPayloadBlobs(
  db: Db,
  tenant: string,
  bodies: JobSubmit[],
  fieldPrefix: string,
): Promise<void> {
  const wanted = [...new Set(bodies.flatMap((b) => (b.payload_blob ? [b.payload_blob] : [])))];
  if (wanted.length === 0) return;
  const found = new Set((await payloadBlobsOf(db, tenant, wanted)).map((r) => r.id));
  const i = bodies.findIndex((b) => b.payload_blob !== undefined && !found.has(b.payload_blob));
  if (i < 0) return;
  const field = fieldPrefix ? `${fieldPrefix}.${i}.payload_blob` : 'payload_blob';
  throw new ApiError(
    404,
    'blob_not_found',
    `${field}: no blob ${bodies[i].payload_blob} (upload it first with PUT /blobs; unused uploads are deleted after a day)`,
    { problems: [{ field, message: 'no such blob' }] },
  );
}
