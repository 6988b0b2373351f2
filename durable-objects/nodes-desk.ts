// Nodes joining, beating, leaving and being revoked.
import type {
  HeartbeatAnswer,
  WorkerHeartbeat,
  WorkerRegister,
  WorkerView,
} from '../src/protocol/worker';
import { log } from '../src/log';
import { type WorkerRow } from './store';
import { ACTIVE_AT } from './retirement';
import { REVOKED_KEY_MEMORY_MS } from '../src/core/node-key';
import type { NodeKeyRef, Outcome } from '../src/protocol/queue-object';
import type { QueueShell } from './queue-shell';
import { unknownWorker } from './shell-contract';
import { endPull } from './pull-desk';
import { view } from './queue-views';
import { grant, standing } from './exchange-desk';

export async function registerWorker(
  s: QueueShell,
  queue: string,
  reg: WorkerRegister,
  key: NodeKeyRef | null = null,
): Promise<Outcome<{ worker: WorkerView }>> {
  s.bind(queue);
  const now = Date.now();
  const existing = s.store.worker(reg.id);
  // An API isolate may still hold a revoked key for a while (src/api/node-key-cache.ts): this
  // object, told at revocation, refuses it at once.
  if (key && s.store.isRevokedNodeKey(key.key_id))
    return {
      ok: false,
      status: 401,
      code: 'node_key_revoked',
      message: `node key ${key.key_id} was revoked: this node may not register`,
    };
  // An id held with a node key is that key's binding's alone; the shared token cannot take it.
  if (existing?.key_id && !key)
    return {
      ok: false,
      status: 409,
      code: 'node_id_taken',
      message: `node ${reg.id} is registered with node key ${existing.key_id}: only a node key bound to this id may register it`,
      details: { problems: [{ field: 'id', message: 'registered with a node key' }] },
    };
  // A node that registers again under the same id has restarted: whatever it was running is gone.
  if (existing) s.handBackAll(existing.id, 'worker re-registered', true, now);
  if (existing) endPull(s, existing.id);
  const row: WorkerRow = {
    id: reg.id,
    url: reg.url ?? '',
    capacity: reg.capacity,
    types: reg.types ?? null,
    executors: reg.executors,
    queues: reg.queues,
    labels: reg.labels ?? {},
    status: 'active',
    registered_at: now,
    last_heartbeat_at: now,
    mode: reg.mode,
    key_id: key?.key_id ?? null,
    sign_key: key?.sign_key ?? null,
  };
  s.store.saveWorker(row);
  s.store.setMeta(ACTIVE_AT, String(now));
  s.unavailableUntil.delete(reg.id);
  // A node that grants credits (version 3) gets nothing here until its first grant arrives.
  if ((reg.protocol ?? 1) >= 3) s.credits.set(reg.id, 0);
  else s.credits.delete(reg.id);
  s.dispatchFailures.delete(reg.id);
  s.engine.retryUnroutable();
  log({
    event: 'worker_registered',
    worker_id: reg.id,
    mode: reg.mode,
    url: reg.url,
    capacity: reg.capacity,
    executors: reg.executors,
    key_id: row.key_id ?? undefined,
    queue,
  });
  s.kick();
  await s.armAlarm();
  return { ok: true, worker: view(s, row, now) };
}

export async function heartbeat(
  s: QueueShell,
  queue: string,
  workerId: string,
  hb: WorkerHeartbeat,
  credit?: number,
): Promise<Outcome<{ answer: HeartbeatAnswer }>> {
  s.bind(queue);
  const row = s.store.worker(workerId);
  if (!row) return unknownWorker(workerId);
  grant(s, workerId, credit);
  const now = Date.now();
  row.last_heartbeat_at = now;
  if (hb.draining && row.status !== 'draining') {
    row.status = 'draining';
    log({ event: 'worker_draining', worker_id: workerId, queue });
  }
  // A draining pull node takes no new work: its waiting lease request ends empty.
  if (row.status === 'draining') endPull(s, workerId);
  s.store.saveWorker(row);
  const { kill, effects } = s.engine.heartbeat(workerId, hb.running, now);
  void s.persist(s.apply(effects, now));
  s.kick();
  await s.armAlarm();
  return {
    ok: true,
    answer: {
      status: row.status,
      drain: row.status === 'draining',
      kill,
      heartbeat_interval_sec: s.config.HEARTBEAT_INTERVAL_SEC,
      ...(credit !== undefined ? { standing: { [queue]: standing(s, workerId) } } : {}),
    },
  };
}

/** A node leaving: its running jobs go back to the queue without costing a retry. */
export async function deregisterWorker(
  s: QueueShell,
  queue: string,
  workerId: string,
): Promise<Outcome<{ requeued: number }>> {
  s.bind(queue);
  const row = s.store.worker(workerId);
  if (!row)
    return {
      ok: false,
      status: 404,
      code: 'worker_unknown',
      message: `worker ${workerId} is not registered`,
    };
  const requeued = s.handBackAll(workerId, 'worker deregistered', false, Date.now());
  s.store.deleteWorker(workerId);
  s.engine.forgetNode(workerId);
  endPull(s, workerId);
  log({ event: 'worker_deregistered', worker_id: workerId, requeued, queue });
  s.kick();
  await s.armAlarm();
  return { ok: true, requeued };
}

/**
 * A node key was revoked: its nodes leave as if they had deregistered (their jobs go back to the
 * queue at no retry cost), and the key is refused here from now on, whatever an API isolate's
 * cache still holds.
 */
export async function revokeNodeKey(
  s: QueueShell,
  queue: string,
  keyId: string,
): Promise<{ deregistered: string[]; requeued: number }> {
  s.bind(queue);
  const now = Date.now();
  s.store.revokeNodeKey(keyId, now, REVOKED_KEY_MEMORY_MS);
  const gone = s.store.workers().filter((w) => w.key_id === keyId);
  let requeued = 0;
  for (const w of gone) {
    const n = s.handBackAll(w.id, 'node key revoked', false, now);
    requeued += n;
    s.store.deleteWorker(w.id);
    s.engine.forgetNode(w.id);
    endPull(s, w.id);
    log({ event: 'worker_key_revoked', worker_id: w.id, key_id: keyId, requeued: n, queue });
  }
  s.kick();
  await s.armAlarm();
  return { deregistered: gone.map((w) => w.id), requeued };
}

export async function listWorkers(s: QueueShell, queue: string): Promise<WorkerView[]> {
  s.bind(queue);
  const now = Date.now();
  return s.store.workers().map((w) => view(s, w, now));
}
