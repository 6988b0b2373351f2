import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { meterD1 } from '../../db/metered-d1';
import type { Exposition } from '../../core/prometheus';
import type { AppEnv } from '../context';

/**
 * What this isolate of the API has served and spent: requests by route and status, and the D1
 * statements they made. Per isolate, like every Worker's memory: the counters start at zero with the
 * isolate (Prometheus' rate() takes resets in its stride). bench/costs divides them by the jobs run.
 */
const requests = new Map<string, { method: string; route: string; status: number; n: number }>();
let d1Statements = 0;
const countD1 = (n: number) => (d1Statements += n);
const metered = new WeakMap<AppEnv['Bindings'], AppEnv['Bindings']>();

export function costMeter(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Every route reads D1 through c.env.DB: one wrapper here counts them all. One metered env per
    // isolate's env, not one per request: configOf (env.ts) caches the parsed config by identity.
    // (The OpenAPI document is served by the app alone in plain Node, with no bindings.)
    if (c.env?.DB) {
      let env = metered.get(c.env);
      if (!env) metered.set(c.env, (env = { ...c.env, DB: meterD1(c.env.DB, countD1) }));
      c.env = env;
    }
    try {
      await next();
    } finally {
      // The route's pattern, not its path: a label per job id would grow without bound.
      const route = routePath(c, -1);
      const key = `${c.req.method} ${route} ${c.res.status}`;
      const seen = requests.get(key);
      if (seen) seen.n++;
      else if (requests.size < 500)
        requests.set(key, { method: c.req.method, route, status: c.res.status, n: 1 });
    }
  };
}

/** Adds the isolate's request and D1 counters to a /metrics exposition. */
export function renderIsolateCosts(x: Exposition): void {
  const served = x.counter(
    'api_requests_total',
    'Requests this API isolate answered, by method, route pattern and status (resets with the isolate).',
  );
  const d1 = x.counter(
    'api_d1_statements_total',
    'Statements this API isolate sent to D1 while answering requests (resets with the isolate).',
  );
  for (const r of requests.values())
    served(r.n, { method: r.method, route: r.route, status: r.status });
  d1(d1Statements);
}
