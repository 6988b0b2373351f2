/**
 * What a node with its own key may register for (src/core/node-key.ts): queues within the key's,
 * labels as the key allows. Who it may register as is checked before, with every call's node id
 * (middleware/worker-auth.ts). The shared WORKER_TOKEN is not scoped.
 */
import { scopeProblems } from '../core/node-key';
import type { NodeKeyRef } from '../protocol/queue-object';
import type { WorkerRegister } from '../protocol/worker';
import type { NodeCaller } from './context';
import { ApiError } from './errors';

/** Refuses a registration outside the caller's scope; the key the Scheduler objects record, or null. */
export function registrationScope(caller: NodeCaller, reg: WorkerRegister): NodeKeyRef | null {
  if (caller.kind === 'shared') return null;
  const problems = scopeProblems(caller.key.scope, reg);
  if (problems.length > 0)
    throw new ApiError(
      403,
      'node_scope_refused',
      problems
        .slice(0, 5)
        .map((p) => `${p.field}: ${p.message}`)
        .join('; '),
      { in: 'body', key_id: caller.key.id, problems },
    );
  return { key_id: caller.key.id, sign_key: caller.signingKey };
}
