-- Job dependencies: a job may wait for others (`depends_on`, a JSON array of job ids) in the new
-- state `waiting`. SQLite cannot change a CHECK constraint in place, so the jobs table is rebuilt
-- with the same columns plus depends_on, and its indexes are created again.
PRAGMA defer_foreign_keys = true;
CREATE TABLE jobs_new (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL CONSTRAINT job_priority CHECK (priority IN (0, 1, 2)),
  status TEXT NOT NULL CONSTRAINT job_status CHECK (status IN ('waiting', 'scheduled', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL,
  timeout_sec INTEGER NOT NULL,
  executor TEXT CONSTRAINT job_executor CHECK (executor IS NULL OR executor IN ('native', 'wasm')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  next_attempt_at INTEGER,
  worker_id TEXT,
  result TEXT,
  error TEXT,
  concurrency_key TEXT,
  concurrency_limit INTEGER,
  requires TEXT,
  backoff TEXT,
  replay_of TEXT,
  callback_url TEXT,
  failure_callback_url TEXT,
  callback_state TEXT,
  progress TEXT,
  depends_on TEXT
);
INSERT INTO jobs_new (id, tenant, queue, type, payload, priority, status, attempts, max_retries, timeout_sec, executor,
  created_at, updated_at, started_at, finished_at, next_attempt_at, worker_id, result, error, concurrency_key,
  concurrency_limit, requires, backoff, replay_of, callback_url, failure_callback_url, callback_state, progress)
SELECT id, tenant, queue, type, payload, priority, status, attempts, max_retries, timeout_sec, executor,
  created_at, updated_at, started_at, finished_at, next_attempt_at, worker_id, result, error, concurrency_key,
  concurrency_limit, requires, backoff, replay_of, callback_url, failure_callback_url, callback_state, progress
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_tenant_created ON jobs (tenant, created_at DESC, id DESC);
CREATE INDEX jobs_tenant_status_created ON jobs (tenant, status, created_at DESC);
CREATE INDEX jobs_queue_status ON jobs (queue, status);
CREATE INDEX jobs_tenant_status_finished ON jobs (tenant, status, finished_at DESC);
