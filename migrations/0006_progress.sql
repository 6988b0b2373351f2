-- Progress a running job reports (JSON: percent, message, at), and its log lines.
ALTER TABLE jobs ADD COLUMN progress TEXT;
CREATE TABLE job_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  line TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);
