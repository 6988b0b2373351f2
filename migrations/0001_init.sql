-- Jobs: the system of record. Times are epoch milliseconds.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL CONSTRAINT job_priority CHECK (priority IN (0, 1, 2)),
  status TEXT NOT NULL CONSTRAINT job_status CHECK (status IN ('scheduled', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
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
  backoff TEXT
);
CREATE INDEX jobs_tenant_created ON jobs (tenant, created_at DESC, id DESC);
CREATE INDEX jobs_tenant_status_created ON jobs (tenant, status, created_at DESC);
CREATE INDEX jobs_queue_status ON jobs (queue, status);

-- X-Idempotency-Key: one row per (tenant, key), remembered until expires_at.
CREATE TABLE idempotency_keys (
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  job_ids TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
);

-- Queues that have been used: the API fans out to their scheduler shards for stats and workers.
CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
