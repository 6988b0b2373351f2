/**
 * Node keys: a worker node's own credential, issued by the admin as API keys are (`nk_<id>_<secret>`,
 * only the SHA-256 of the secret stored; api-key.ts). A key is bound either to one node id or to a
 * pool, every id that starts with a prefix; and scoped to the queues its nodes may serve and the
 * labels they may claim. Pure: the API's middleware and the register handler apply these rules.
 *
 * No two live keys may claim one id (bindingsOverlap, checked when a key is created) except keys with
 * the same binding, which is how a key is rotated: a node id is then held by exactly one binding, and
 * no node can take over an id outside its own.
 */
import { parseKey, sha256Hex } from './api-key';

export interface NodeKeyBinding {
  /** The one node id the key acts as; null for a pool. */
  nodeId: string | null;
  /** A pool: every node id that starts with this; null for a single node. */
  nodePrefix: string | null;
}

export interface NodeKeyScope {
  /** Queues the key's nodes may register for. */
  queues: string[];
  /**
   * Labels they may claim: a value, or `*` for any value of that label. null: any label at all
   * (the key does not restrict labels).
   */
  labels: Record<string, string> | null;
}

export const ANY_LABEL_VALUE = '*';

/**
 * The longest D1 outage through which the API keeps accepting a node key it has read before
 * (src/api/node-key-cache.ts). A Scheduler object remembers a revoked key at least this long, plus
 * the longest NODE_KEY_CACHE_SEC, so that no stale copy can register a node again.
 */
export const NODE_KEY_STALE_MS = 24 * 3_600_000;
export const REVOKED_KEY_MEMORY_MS = NODE_KEY_STALE_MS + 3_600_000;

export const parseNodeKey = (key: string) => parseKey('nk', key);

/**
 * The HMAC key of the signatures between the scheduler and a keyed node, both ways: the SHA-256 of
 * the secret, which the node computes from its key and the API keeps. Whoever reads the API's
 * storage can sign as the scheduler, but cannot act as the node, whose calls carry the secret.
 */
export const signingKeyOf = (secret: string) => sha256Hex(secret);

export function mayActAs(b: NodeKeyBinding, nodeId: string): boolean {
  if (b.nodeId !== null) return nodeId === b.nodeId;
  return b.nodePrefix !== null && nodeId.startsWith(b.nodePrefix);
}

/** True when some node id is claimed by both bindings and they are not the same binding. */
export function bindingsOverlap(a: NodeKeyBinding, b: NodeKeyBinding): boolean {
  if (a.nodeId !== null && b.nodeId !== null) return false; // the same id is a rotation; else disjoint
  if (a.nodeId !== null) return mayActAs(b, a.nodeId);
  if (b.nodeId !== null) return mayActAs(a, b.nodeId);
  const [p, q] = [a.nodePrefix!, b.nodePrefix!];
  return p !== q && (p.startsWith(q) || q.startsWith(p));
}

export function describeBinding(b: NodeKeyBinding): string {
  return b.nodeId !== null ? `node ${b.nodeId}` : `nodes ${b.nodePrefix}*`;
}

export interface ScopeProblem {
  field: string;
  message: string;
}

/** What a registration asks for beyond the key's scope, one problem per field; empty when within. */
export function scopeProblems(
  scope: NodeKeyScope,
  reg: { queues: readonly string[]; labels?: Record<string, string> },
): ScopeProblem[] {
  const problems: ScopeProblem[] = [];
  const allowed = new Set(scope.queues);
  reg.queues.forEach((q, i) => {
    if (!allowed.has(q))
      problems.push({
        field: `queues.${i}`,
        message: `queue ${q} is not in this node key's scope (${scope.queues.join(', ')})`,
      });
  });
  if (scope.labels !== null) {
    const labels = scope.labels;
    for (const [k, v] of Object.entries(reg.labels ?? {})) {
      const may = Object.hasOwn(labels, k) ? labels[k] : undefined;
      if (may === ANY_LABEL_VALUE || may === v) continue;
      problems.push({
        field: `labels.${k}`,
        message:
          may === undefined
            ? `label ${k} is not in this node key's scope`
            : `label ${k} may only be ${JSON.stringify(may)} with this node key`,
      });
    }
  }
  return problems;
}
