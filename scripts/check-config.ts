// Validates the local configuration the way the Worker will (src/env.ts) and prints the variables as
// JSON. Run as its own process because importing wrangler installs signal handlers that would stop
// the stack from draining its worker node on Ctrl-C.
import { checkLocalConfig } from './dev-vars';

const root = new URL('..', import.meta.url).pathname;
const result = checkLocalConfig(root);
if (!result.ok) {
  console.error('x refusing to start: the configuration is invalid');
  for (const p of result.problems) console.error(`  ${p.variable}: ${p.message}`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ vars: result.vars, overrides: result.overrides }));
