-- Deduplication windows chosen per job (docs/protocol.md 1.11): `dedup_key` is claimed for the
-- tenant, across its queues, until `expires_at` (dedup_ttl_sec after the first submission). The
-- primary key admits one winner among concurrent submissions of a key; a later one answers with
-- the job the winner named. Expired keys are taken over by the next submission and pruned by cron.
CREATE TABLE dedup_keys (
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  job_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
);
