import { sqliteTable, text, integer, primaryKey } from 'drizzle-orm/sqlite-core';
import type { JobStatus } from '../protocol/job';
import type { ExecutorName } from '../protocol/common';
import type { AttemptEndReason } from '../protocol/attempt';

/** Mirrors migrations/0001_init.sql; the CHECK constraints live in the SQL. Times are epoch ms. */
export const jobs = sqliteTable('jobs', {
  id: text('id').primaryKey(),
  tenant: text('tenant').notNull(),
  queue: text('queue').notNull(),
  type: text('type').notNull(),
  payload: text('payload').notNull(),
  priority: integer('priority').notNull(),
  status: text('status').$type<JobStatus>().notNull(),
  attempts: integer('attempts').notNull().default(0),
  maxRetries: integer('max_retries').notNull(),
  timeoutSec: integer('timeout_sec').notNull(),
  executor: text('executor').$type<ExecutorName>(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  startedAt: integer('started_at'),
  finishedAt: integer('finished_at'),
  nextAttemptAt: integer('next_attempt_at'),
  workerId: text('worker_id'),
  result: text('result'),
  error: text('error'),
  concurrencyKey: text('concurrency_key'),
  concurrencyLimit: integer('concurrency_limit'),
  /** JSON of the job's rate_limit (migrations/0015_rate_limits.sql), or null. */
  rateLimit: text('rate_limit'),
  requires: text('requires'),
  backoff: text('backoff'),
  replayOf: text('replay_of'),
  callbackUrl: text('callback_url'),
  failureCallbackUrl: text('failure_callback_url'),
  /** JSON of a CallbackState (below), written by the Scheduler and its couriers, or null. */
  callbackState: text('callback_state'),
  progress: text('progress'),
  /** JSON array of the job ids this job waits for (migrations/0007_dependencies.sql), or null. */
  dependsOn: text('depends_on'),
  /** An uploaded blob the job runs with instead of an inline payload (migrations/0008_blobs.sql), or null. */
  payloadBlob: text('payload_blob'),
  /** W3C trace context (migrations/0014_trace.sql): version-00 traceparent and tracestate, or null. */
  traceparent: text('traceparent'),
  tracestate: text('tracestate'),
  /** The Scheduler object's version of this row; D1 lets it only move forward (migrations/0009_versions.sql). */
  version: integer('version').notNull().default(0),
});

export const jobLogs = sqliteTable('job_logs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  jobId: text('job_id').notNull(),
  attempt: integer('attempt').notNull(),
  ts: integer('ts').notNull(),
  line: text('line').notNull(),
});
export type JobRow = typeof jobs.$inferSelect;

/** What a job's callback delivery looks like on the job (`callback_state`); times are epoch ms. */
export interface CallbackState {
  url: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  delivered_at: number | null;
}

/** One ended attempt of a job (migrations/0010_attempts.sql); reason is src/protocol/attempt.ts's. */
export const jobAttempts = sqliteTable(
  'job_attempts',
  {
    jobId: text('job_id').notNull(),
    attempt: integer('attempt').notNull(),
    workerId: text('worker_id'),
    executor: text('executor').$type<ExecutorName>(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at').notNull(),
    exitCode: integer('exit_code'),
    error: text('error'),
    timedOut: integer('timed_out', { mode: 'boolean' }).notNull().default(false),
    reason: text('reason').$type<AttemptEndReason>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt] })],
);
export type JobAttemptRow = typeof jobAttempts.$inferSelect;

export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    tenant: text('tenant').notNull(),
    key: text('key').notNull(),
    jobIds: text('job_ids').notNull(),
    requestHash: text('request_hash').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.key] })],
);

export const apiKeys = sqliteTable('api_keys', {
  id: text('id').primaryKey(),
  tenant: text('tenant').notNull(),
  name: text('name'),
  secretHash: text('secret_hash').notNull(),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
});
export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Worker nodes' own keys (migrations/0012_node_keys.sql); queues and labels are JSON. */
export const nodeKeys = sqliteTable('node_keys', {
  id: text('id').primaryKey(),
  name: text('name'),
  nodeId: text('node_id'),
  nodePrefix: text('node_prefix'),
  queues: text('queues').notNull(),
  labels: text('labels'),
  secretHash: text('secret_hash').notNull(),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
});
export type NodeKeyRow = typeof nodeKeys.$inferSelect;

/** Objects in R2 (migrations/0008_blobs.sql): uploads by tenant, and job outputs by job and attempt. */
export const blobs = sqliteTable('blobs', {
  id: text('id').primaryKey(),
  kind: text('kind').$type<'payload' | 'output'>().notNull(),
  tenant: text('tenant'),
  jobId: text('job_id'),
  size: integer('size').notNull(),
  sha256: text('sha256'),
  createdAt: integer('created_at').notNull(),
});
export type BlobRow = typeof blobs.$inferSelect;

export const queues = sqliteTable('queues', {
  name: text('name').primaryKey(),
  createdAt: integer('created_at').notNull(),
  /** The owner (migrations/0013); null for a shared queue. */
  tenant: text('tenant'),
  lastActiveAt: integer('last_active_at').notNull().default(0),
  retiredAt: integer('retired_at'),
});

/** Columns per job row: a multi-row insert carries at most floor(100 / JOB_COLUMNS) rows (D1's 100 bound parameters). */
export const JOB_COLUMNS = 34;
export const JOB_ROWS_PER_INSERT = Math.floor(100 / JOB_COLUMNS);

/** migrations/0016_dedup_keys.sql: each tenant's dedup_key and the job it names, until it expires. */
export const dedupKeys = sqliteTable(
  'dedup_keys',
  {
    tenant: text('tenant').notNull(),
    key: text('key').notNull(),
    jobId: text('job_id').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.key] })],
);
