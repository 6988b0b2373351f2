-- Queues belong to a tenant, are bounded per tenant and retire when idle (issue 15).
-- `tenant`: the tenant whose API key created the queue; NULL for a shared queue (`default`, queues
-- an operator, a worker node or a version before this one created), which every tenant may use.
-- `last_active_at`: when the queue was last (re)created or seen with jobs or nodes by the cron.
-- `retired_at`: set when the cron retired the queue (no jobs, no nodes, idle for
-- QUEUE_IDLE_RETIRE_SEC); a retired queue is left out of every fan-out and does not count against
-- MAX_QUEUES_PER_TENANT. Naming it again clears it; its owner stays its owner.
ALTER TABLE queues ADD COLUMN tenant TEXT;
ALTER TABLE queues ADD COLUMN last_active_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN retired_at INTEGER;
UPDATE queues SET last_active_at = created_at;
INSERT INTO queues (name, created_at, last_active_at) VALUES ('default', 0, 0) ON CONFLICT (name) DO NOTHING;
CREATE INDEX queues_tenant_active ON queues (tenant, retired_at);
CREATE INDEX queues_active ON queues (retired_at, last_active_at);
