/**
 * The signed URLs a dispatch carries (docs/protocol.md section 2.7): where a blob job's payload is
 * fetched from, and where any job may upload an output too large to report inline. Both are paths
 * on the API, relative to the node's API_URL (the scheduler does not know the API's public
 * address), and both live until 15 minutes after the attempt's timeout would end. The dispatch
 * signature covers them, so a node can trust they came from the scheduler.
 */
import { signBlobUrl } from '../src/core/blob-url';
import { BLOB_URL_SLACK_SEC, outputPath, payloadPath } from '../src/protocol/blobs';
import type { DispatchedJob } from '../src/protocol/dispatch';

export async function withBlobUrls(
  jobs: DispatchedJob[],
  secret: string,
  nowMs: number,
): Promise<DispatchedJob[]> {
  return Promise.all(
    jobs.map(async (job) => {
      const exp = Math.ceil(nowMs / 1000) + job.timeout_sec + BLOB_URL_SLACK_SEC;
      const result_upload_url = await signBlobUrl(
        secret,
        'PUT',
        outputPath(job.job_id, job.attempt),
        exp,
      );
      if (!job.payload_blob) return { ...job, result_upload_url };
      return {
        ...job,
        payload_url: await signBlobUrl(secret, 'GET', payloadPath(job.payload_blob), exp),
        result_upload_url,
      };
    }),
  );
}
