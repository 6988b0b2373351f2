-- Why a schedule's last skipped tick created no job, and when: overlap=forbid found the previous job
-- still active, or the tenant's RATE_LIMIT_JOBS_PER_MIN bucket was empty (issue 15). A skipped tick is
-- recorded, never queued late.
ALTER TABLE schedules ADD COLUMN last_skipped_at INTEGER;
ALTER TABLE schedules ADD COLUMN last_skip_reason TEXT
  CONSTRAINT schedule_skip_reason CHECK (last_skip_reason IS NULL OR last_skip_reason IN ('overlap_forbid', 'rate_limited'));
