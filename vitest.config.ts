import { defineConfig } from 'vitest/config';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { execFileSync } from 'node:child_process';

// The Worker's static assets (wrangler.toml [assets]): the workers pool serves them from
// dashboard/dist, which is built, not committed. wrangler builds them itself before `dev` and
// `deploy`; the pool does not, so every run builds them here (about 50 ms when nothing changed).
execFileSync(process.execPath, ['scripts/build-assets.mjs'], { stdio: 'inherit' });

const migrations = await readD1Migrations('./migrations');

// `npm test` runs each fuzz property 15 times so the suite stays in CI's budget; `npm run test:fuzz`
// runs every property's full count (test/fuzz-support/config.ts).
process.env.VITE_FUZZ_RUNS ??= '15';

// Three projects: `unit` runs the pure core and the runner in plain Node; `workers` runs the API and
// the Scheduler Durable Object inside workerd with real D1; `e2e` starts wrangler dev and real worker
// node processes, one file at a time.
export default defineConfig({
  test: {
    // Logs of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                WORKER_TOKEN: 'test-worker-token',
                ALLOW_PRIVATE_WORKER_URLS: 'true',
                ALLOW_ANONYMOUS: 'true',
                // Rate limiting has its own tests (createApp().fetch with a low limit); elsewhere it is off.
                RATE_LIMIT_JOBS_PER_MIN: '0',
                ADMIN_TOKEN: 'test-admin-token-0123456789',
                CALLBACK_SIGNING_KEY: 'whsec_6yqf8Fhfk4Q64V/DwKbW5qiCmuZtNnZdMJc2Ylfd+kY=',
              },
              // A real D1 database no migration is applied to: every query fails (no such table).
              // test/workers/heartbeat-without-d1.test.ts gives it to the API as DB.
              d1Databases: { DB_UNMIGRATED: 'unmigrated' },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          setupFiles: ['./test/workers/apply-migrations.ts'],
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
