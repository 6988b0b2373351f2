-- A replayed job points at the job it was replayed from; dead letters are listed newest first.
ALTER TABLE jobs ADD COLUMN replay_of TEXT;
CREATE INDEX jobs_tenant_status_finished ON jobs (tenant, status, finished_at DESC);
