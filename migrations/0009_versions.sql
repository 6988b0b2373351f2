-- D1 is a projection of each queue's Scheduler object, written from the object's outbox. Each job
-- write carries the object's version of the job, and D1 only lets it move forward: a retried older
-- write that lands after a newer one is ignored instead of setting the job back (docs/protocol.md,
-- "Invariants"). Writes that do not set `version` (callback state, progress) are not affected.
ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER jobs_version_forward BEFORE UPDATE OF version ON jobs
WHEN NEW.version <= OLD.version
BEGIN
  SELECT RAISE(IGNORE);
END;

-- A job's log lines go with it when retention deletes it, whichever path deletes it.
CREATE TRIGGER jobs_delete_logs AFTER DELETE ON jobs
BEGIN
  DELETE FROM job_logs WHERE job_id = OLD.id;
END;
