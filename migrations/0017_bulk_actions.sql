-- Bulk actions by filter (POST /jobs/bulk, docs/protocol.md "Bulk actions"): one row per action,
-- its progress written by whoever runs its pages (the request for a small set, its BulkRunner
-- object for a large one). `cursor_at`/`cursor_id` is the keyset position in the tenant's jobs
-- ordered by (created_at, id): a page commits its counts and the new cursor in one statement,
-- guarded by the old cursor, so a page run twice is counted once. `accepted_at` bounds the set: jobs
-- created later (a replay's own jobs among them) are never matched.
CREATE TABLE bulk_actions (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  action TEXT NOT NULL CONSTRAINT bulk_action CHECK (action IN ('cancel', 'retry', 'replay', 'priority')),
  filter TEXT NOT NULL,
  priority INTEGER,
  status TEXT NOT NULL CONSTRAINT bulk_status CHECK (status IN ('running', 'completed', 'failed')),
  matched INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  problems TEXT NOT NULL DEFAULT '[]',
  accepted_at INTEGER NOT NULL,
  cursor_at INTEGER NOT NULL DEFAULT -1,
  cursor_id TEXT NOT NULL DEFAULT '',
  rate_key TEXT,
  rate_limit INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT
);
CREATE INDEX bulk_actions_tenant_created ON bulk_actions (tenant, created_at DESC);
