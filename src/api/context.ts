import type { Config, Env } from '../env';
import type { NodeKey } from '../db/node-keys';

/**
 * Who makes a worker-protocol call (middleware/worker-auth.ts): a node with its own key, or a holder
 * of the shared WORKER_TOKEN. `signingKey` keys the request signatures both ways.
 */
export type NodeCaller =
  { kind: 'key'; key: NodeKey; signingKey: string } | { kind: 'shared'; signingKey: string };

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    /** The tenant a request acts as: its API key's, `default` when anonymous, or X-Tenant for the admin. */
    tenant: string;
    /** The admin token was presented: reads span every tenant. */
    admin: boolean;
    apiKeyId?: string;
    /** Set on the worker protocol's routes once the caller is authenticated. */
    node?: NodeCaller;
  };
};

export function schedulerFor(env: Env, queue: string) {
  return env.SCHEDULER.get(env.SCHEDULER.idFromName(`queue:${queue}`));
}

/** The tenant filter for reads: the admin sees every tenant's jobs. */
export function readScope(c: {
  get(key: 'admin'): boolean;
  get(key: 'tenant'): string;
}): string | null {
  return c.get('admin') ? null : c.get('tenant');
}

/**
 * Whose queues, nodes and telemetry a request sees: null for the operator's view, else the API
 * key's tenant, which sees only its own jobs' figures and no node's details. The operator is the
 * admin, or an anonymous caller: ALLOW_ANONYMOUS is the single-user local mode of the quick start
 * (docs/protocol.md 1.5b), where the one user is the operator.
 */
export function observeScope(c: {
  get(key: 'admin'): boolean;
  get(key: 'tenant'): string;
  get(key: 'apiKeyId'): string | undefined;
}): string | null {
  return c.get('admin') || !c.get('apiKeyId') ? null : c.get('tenant');
}
