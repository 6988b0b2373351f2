import type { Config, Env } from '../env';

export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; config: Config; tenant: string };
};

export function schedulerFor(env: Env, queue: string) {
  return env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
}
