/**
 * `npm run test:chaos`: the long chaos run. Every fault alone, then all of them mixed, with at least
 * 500 jobs in all; prints the table of counts per fault and every violation, and exits 1 on any.
 *
 * Env: CHAOS_SEED (repeat a run), CHAOS_JOBS (jobs per fault, default 60), CHAOS_MIXED (default 200),
 * CHAOS_RATE (submissions/s, default 10), CHAOS_ONLY (comma-separated fault names, and/or "mixed").
 */
import { formatTable, runSuite } from './suite';

const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const started = Date.now();
console.log(`[chaos] seed ${seed} (CHAOS_SEED=${seed} repeats the fault choices)`);
const result = await runSuite({
  jobsPerFault: Number(process.env.CHAOS_JOBS ?? 60),
  jobsMixed: Number(process.env.CHAOS_MIXED ?? 200),
  rate: Number(process.env.CHAOS_RATE ?? 10),
  nodes: 3,
  capacity: 2,
  quiesceMs: 120_000,
  minFaultMs: 8_000,
  seed,
  only: process.env.CHAOS_ONLY ? process.env.CHAOS_ONLY.split(',') : undefined,
});
console.log(`\n${formatTable(result.rows)}\n`);
const skipped = result.rows.filter((r) => r.skipped);
for (const r of skipped) console.log(`skipped ${r.fault}: ${r.skipped}`);
console.log(
  `${result.rows.reduce((s, r) => s + (r.accepted ?? 0), 0)} jobs in ${Math.round((Date.now() - started) / 1000)} s, seed ${seed}`,
);
if (result.violations.length) {
  console.log(`\n${result.violations.length} violation(s):`);
  for (const v of result.violations) console.log(`  ${v}`);
  process.exit(1);
}
console.log('no violations');
process.exit(0);
