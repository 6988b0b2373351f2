/// <reference types="@cloudflare/vitest-pool-workers/types" />
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    SCHEDULER: DurableObjectNamespace<import('../../durable-objects/scheduler').Scheduler>;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
  }
}
