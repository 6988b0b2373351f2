-- Recurring schedules (durable-objects/schedules.ts). The ScheduleKeeper Durable Object is the single
-- writer and keeps the timer in its own storage; this table mirrors every change so the API can list
-- and read schedules per tenant. Times are epoch milliseconds; `job` is the JobSubmit body as JSON.
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  job TEXT NOT NULL,
  overlap TEXT NOT NULL CONSTRAINT schedule_overlap CHECK (overlap IN ('allow', 'forbid')),
  status TEXT NOT NULL CONSTRAINT schedule_status CHECK (status IN ('active', 'paused')),
  next_run_at INTEGER,
  last_run_at INTEGER,
  last_job_id TEXT,
  runs INTEGER NOT NULL DEFAULT 0,
  skipped_ticks INTEGER NOT NULL DEFAULT 0,
  missed_ticks INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_tenant_created ON schedules (tenant, created_at DESC, id DESC);
CREATE INDEX schedules_tenant_status_created ON schedules (tenant, status, created_at DESC);
