// Debounce keys of a queue: which job is the pending one of each (tenant, key), in the object's SQLite.
import type { JobRow } from '../src/db/schema';
import type { NewJob, Outcome } from '../src/protocol/queue-object';
import type { Store } from './store';
import type { QueueShell } from './queue-shell';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS debounce_keys (
  tenant TEXT NOT NULL, key TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (tenant, key)
);`;

/** Keys whose job has left the object are forgotten at most this often (a key never reused). */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * The last job made for each debounce key. Its row is what makes a burst survive a restart of the
 * object: the job itself (scheduled, with its due time) is in the jobs table, and this names it.
 */
class DebounceKeys {
  private prunedAt = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  jobOf(tenant: string, key: string): string | null {
    const row = this.sql
      .exec<{ job_id: string }>(
        'SELECT job_id FROM debounce_keys WHERE tenant = ? AND key = ?',
        tenant,
        key,
      )
      .toArray()[0];
    return row?.job_id ?? null;
  }

  set(tenant: string, key: string, jobId: string, now: number): void {
    this.sql.exec(
      `INSERT INTO debounce_keys (tenant, key, job_id) VALUES (?, ?, ?)
       ON CONFLICT (tenant, key) DO UPDATE SET job_id = excluded.job_id`,
      tenant,
      key,
      jobId,
    );
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    this.sql.exec('DELETE FROM debounce_keys WHERE job_id NOT IN (SELECT id FROM jobs)');
  }
}

/** One per Store: a cleared object (retirement) gets a new Store, and so a new table. */
const keysOf = new WeakMap<Store, DebounceKeys>();

function keys(s: QueueShell): DebounceKeys {
  let k = keysOf.get(s.store);
  if (!k) keysOf.set(s.store, (k = new DebounceKeys(s.ctx.storage.sql)));
  return k;
}

/**
 * A submission of one debounced job, judged in the caller's synchronous turn (so concurrent
 * submissions of a key are judged one after the other). When the key's job is still pending
 * (src/core/engine/waiting-edits.ts), that job takes this payload and runs `delay_sec` from now,
 * and the answer is that job, with `debounced`. Otherwise null: the caller makes the job, with its
 * due time set here from this object's clock, and records it as the key's (`recordDebounced`).
 */
export function debounceInto(
  s: QueueShell,
  jobs: NewJob[],
  now: number,
): Promise<Outcome<{ jobs: JobRow[]; created: boolean; debounced?: boolean }>> | null {
  const j = jobs[0];
  if (jobs.length !== 1 || !j.debounce) return null;
  j.run_at = now + j.debounce.delay_sec * 1000;
  const id = keys(s).jobOf(j.tenant, j.debounce.key);
  const pending = id ? s.store.jobById(id) : null;
  const input = { payload: j.payload, payload_blob: j.payload_blob ?? null, runAt: j.run_at };
  const effects = s.engine.debounce(pending, input, now);
  if (!effects) return null;
  const landed = s.persist(s.apply(effects, now));
  const row = s.freshRow(pending!.id)!;
  return landed.then(async () => {
    await s.armAlarm();
    return { ok: true, jobs: [row], created: false, debounced: true };
  });
}

/** Inside the submission's transaction: the new job is now its key's pending job. */
export function recordDebounced(s: QueueShell, j: NewJob, now: number): void {
  if (j.debounce) keys(s).set(j.tenant, j.debounce.key, j.id, now);
}
