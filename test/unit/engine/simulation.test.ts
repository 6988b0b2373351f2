import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/world';
import regressions from '../../sim/regressions.json';

// `npm test` runs a fixed budget of seeds; `npm run test:sim` runs thousands (test/sim/run.ts).
const SEEDS = 60;

describe('engine simulation (test/sim): crashes, lossy network, node deaths, late alarms', () => {
  it(`keeps every invariant over ${SEEDS} seeded runs`, () => {
    const failures = [];
    let jobs = 0;
    let flow = 0;
    for (let seed = 1001; seed < 1001 + SEEDS; seed++) {
      const r = simulate(seed);
      jobs += r.jobs;
      flow += Math.min(r.flow.debounced, r.flow.edits);
      if (r.violations.length) failures.push({ seed, violations: r.violations.slice(0, 3) });
    }
    expect(failures).toEqual([]);
    // The runs did real work: jobs were submitted, dispatched and finished.
    expect(jobs).toBeGreaterThan(SEEDS * 20);
    // And the flow-control runs debounced bursts and edited waiting jobs (test/sim/flow-play.ts).
    expect(flow).toBeGreaterThan(SEEDS / 4);
  });

  it.each(regressions.seeds.map((s) => [s.seed, s.found]))('replays seed %i (%s)', (seed) => {
    expect(simulate(Number(seed)).violations).toEqual([]);
  });
});
