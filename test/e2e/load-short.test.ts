/**
 * Issue 6, "Load", the short form inside `npm test`: 20 s at a steady rate on three nodes. The long
 * form is `npm run test:load` (test/load/run.ts, minutes). No submit may fail, every job must succeed,
 * and no process may grow past the memory bound stated in test/load/load.ts.
 */
import { expect, it } from 'vitest';
import { formatLoad, runLoad } from '../load/load';

it('sustains a steady rate with no errors and bounded memory', async () => {
  const report = await runLoad({ seconds: 20, rate: 15, nodes: 3, capacity: 4, log: () => {} });
  const text = formatLoad(report);
  console.info(text);
  expect(report.errors, text).toBe(0);
  expect(report.submitted).toBe(300);
  expect(report.succeeded).toBe(300);
  // Steady: the stack kept up with the target rate rather than queueing ever more.
  expect(report.submit_rate, text).toBeGreaterThan(15 * 0.9);
  expect(report.dispatch_ms.p50, text).toBeLessThan(2_000);
  expect(
    report.memory.filter((m) => !m.ok),
    text,
  ).toEqual([]);
}, 180_000);
