import { simulate } from './world';

/**
 * `npm run test:sim`: the engine's simulation at length. SIM_SEEDS runs (default 5,000) from
 * SIM_FIRST (default 1), SIM_STEPS faulty steps each before the calm phase. Every failing seed is
 * printed with its first violations; add it to regressions.json so `npm test` replays it.
 */
const first = Number(process.env.SIM_FIRST ?? 1);
const count = Number(process.env.SIM_SEEDS ?? 5000);
const steps = Number(process.env.SIM_STEPS ?? 400);
const started = Date.now();
let failed = 0;
let jobs = 0;
let dispatches = 0;
let debounced = 0;
let edits = 0;
for (let seed = first; seed < first + count; seed++) {
  const r = simulate(seed, steps);
  jobs += r.jobs;
  dispatches += r.dispatches;
  debounced += r.flow.debounced;
  edits += r.flow.edits;
  if (r.violations.length === 0) continue;
  failed++;
  console.log(`seed ${seed} FAILED:\n  ${r.violations.slice(0, 5).join('\n  ')}`);
}
const sec = (Date.now() - started) / 1000;
console.log(
  `${count} seeds (${first}..${first + count - 1}), ${jobs} jobs, ${dispatches} dispatches, ${debounced} debounced submissions, ${edits} edits in ${sec.toFixed(1)} s: ${failed} failed`,
);
process.exitCode = failed ? 1 : 0;
