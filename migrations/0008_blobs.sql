-- Large payloads and outputs live in R2 (binding BLOBS); D1 knows who owns each object and what
-- refers to it, so retention can delete what nothing refers to any more (src/db/blobs.ts).
ALTER TABLE jobs ADD COLUMN payload_blob TEXT;
CREATE INDEX jobs_payload_blob ON jobs (payload_blob) WHERE payload_blob IS NOT NULL;
CREATE TABLE blobs (
  -- `blob_<ulid>` for an upload (R2 key payloads/<id>); `<job id>/<attempt>` for an output (outputs/<job id>/<attempt>)
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CONSTRAINT blob_kind CHECK (kind IN ('payload', 'output')),
  tenant TEXT,
  job_id TEXT,
  size INTEGER NOT NULL,
  sha256 TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX blobs_created ON blobs (created_at);
