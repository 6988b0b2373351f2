-- A job's rate limit per key (issue 17): JSON `{ key, limit, period_sec }`, or NULL. The queue's
-- object decides on it (src/core/rate-gate.ts) and keeps the start times per key in its own storage;
-- D1 keeps it so the job shows it and a replay or a reconcile carries it.
ALTER TABLE jobs ADD COLUMN rate_limit TEXT;
