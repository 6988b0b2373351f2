-- Every attempt of a job, written by the queue's Scheduler object through its outbox when the attempt
-- ends. (job_id, attempt) is the key, so a replayed outbox write inserts nothing twice. `reason` is a
-- closed set, the same as src/protocol/attempt.ts and docs/protocol.md ("Attempt history").
CREATE TABLE job_attempts (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  worker_id TEXT,
  executor TEXT,
  started_at INTEGER,
  finished_at INTEGER NOT NULL,
  exit_code INTEGER,
  error TEXT,
  timed_out INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL CONSTRAINT job_attempts_reason CHECK (
    reason IN ('succeeded', 'failed', 'lease_lost', 'node_gone', 'cancelled', 'timed_out')
  ),
  PRIMARY KEY (job_id, attempt)
);

-- A job's attempts go with it when retention deletes it, like its log lines (0009_versions.sql).
CREATE TRIGGER jobs_delete_attempts AFTER DELETE ON jobs
BEGIN
  DELETE FROM job_attempts WHERE job_id = OLD.id;
END;
