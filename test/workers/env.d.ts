/// <reference types="@cloudflare/vitest-pool-workers/types" />
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    SCHEDULER: DurableObjectNamespace<import('../../durable-objects/scheduler').Scheduler>;
    RATE_LIMITER: DurableObjectNamespace<import('../../durable-objects/rate-limiter').RateLimiter>;
    COURIER: DurableObjectNamespace<import('../../durable-objects/courier').Courier>;
    BULK_RUNNER: DurableObjectNamespace<import('../../durable-objects/bulk-runner').BulkRunner>;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
  }
}
