import { applyD1Migrations, env } from 'cloudflare:test';

// Runs before each test file; applyD1Migrations skips migrations that were already applied.
await applyD1Migrations(
  env.DB,
  (env as unknown as { TEST_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] }).TEST_MIGRATIONS,
);
