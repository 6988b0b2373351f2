import type { MiddlewareHandler } from 'hono';
import { configOf } from '../../env';
import { ApiError } from '../errors';
import type { AppEnv } from '../context';

/** A Worker with a bad variable answers every request 503 `config_invalid` naming it, rather than running half-configured. */
export function configGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const parsed = configOf(c.env);
    if (!parsed.ok) {
      const names = parsed.problems.map((p) => p.variable).join(', ');
      throw new ApiError(503, 'config_invalid', `the scheduler is misconfigured: ${names}`, {
        problems: parsed.problems,
      });
    }
    c.set('config', parsed.config);
    c.set('tenant', 'default');
    c.set('admin', false);
    await next();
  };
}
