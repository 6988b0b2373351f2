declare module 'cloudflare:test' {
  interface ProvidedEnv {
    DB: D1Database;
    SCHEDULER: DurableObjectNamespace<import('../../durable-objects/scheduler').Scheduler>;
    TEST_MIGRATIONS: D1Migration[];
  }
}
