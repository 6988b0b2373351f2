/**
 * `npm run test:load`: sustained load for LOAD_SEC seconds (default 180) at LOAD_RATE jobs/s
 * (default 20, what this stack sustains on a busy two-core machine) on LOAD_NODES nodes (default 3).
 * Exits 1 on any error or a process group over its memory bound (test/load/load.ts).
 */
import { formatLoad, runLoad } from './load';

const report = await runLoad({
  seconds: Number(process.env.LOAD_SEC ?? 180),
  rate: Number(process.env.LOAD_RATE ?? 20),
  nodes: Number(process.env.LOAD_NODES ?? 3),
  capacity: Number(process.env.LOAD_CAPACITY ?? 4),
});
console.log(`\n${formatLoad(report)}\n`);
if (process.env.LOAD_JSON) console.log(JSON.stringify(report));
const over = report.memory.filter((m) => !m.ok);
if (report.errors > 0 || over.length > 0 || report.submitted === 0) {
  console.log(
    `FAILED: ${report.errors} error(s)${over.length ? `, memory over the bound: ${over.map((m) => m.process).join(', ')}` : ''}`,
  );
  process.exit(1);
}
console.log('ok');
process.exit(0);
