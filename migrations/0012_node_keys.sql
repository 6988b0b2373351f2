-- Node keys (issue 15): a worker node's own credential, bound to one node id or to a pool of ids that
-- start with a prefix, and scoped to queues (a JSON array) and labels (a JSON object; NULL: any).
-- Only a SHA-256 of the secret is stored; the key is shown once (src/core/node-key.ts).
CREATE TABLE node_keys (
  id TEXT PRIMARY KEY,
  name TEXT,
  node_id TEXT,
  node_prefix TEXT,
  queues TEXT NOT NULL,
  labels TEXT,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  CONSTRAINT node_keys_one_binding CHECK ((node_id IS NULL) <> (node_prefix IS NULL))
);
