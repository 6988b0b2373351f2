/**
 * The bulk action of the job list (POST /jobs/bulk): one action on every job matching the list's
 * current filter, however many pages it has, after a confirm; then its progress until it ends.
 */
import { api, messageOf } from './api';
import { $ } from './dom';
import type { BulkAction } from './types';

const POLL_MS = 1000;

export interface BulkHooks {
  /** The list's filter, as GET /jobs takes it (empty values left out). */
  filter(): Record<string, string>;
  /** How many jobs the list shows for it (the confirm says so). */
  total(): number;
  refresh(): Promise<void>;
}

export function initBulk(hooks: BulkHooks): void {
  const action = $<HTMLSelectElement>('bulk-action');
  action.addEventListener('input', () => {
    $('bulk-priority-label').hidden = action.value !== 'priority';
  });
  $('bulk-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void apply(hooks).catch((err) => show(null, messageOf(err)));
  });
}

async function apply(hooks: BulkHooks): Promise<void> {
  const action = $<HTMLSelectElement>('bulk-action').value;
  const f = hooks.filter();
  const filter: Record<string, string | number> = { ...f };
  if (f.priority !== undefined) filter.priority = Number(f.priority);
  const body: Record<string, unknown> = { action, filter };
  if (action === 'priority') body.priority = Number($<HTMLSelectElement>('bulk-priority').value);
  const what =
    Object.entries(f)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'no filter: every job';
  if (!window.confirm(`${action} every job matching (${what})? The list shows ${hooks.total()}.`))
    return;
  const button = $<HTMLButtonElement>('bulk-apply');
  button.disabled = true;
  try {
    let { bulk } = await api<{ bulk: BulkAction }>('POST', '/jobs/bulk', body);
    show(bulk);
    while (bulk.status === 'running') {
      await new Promise((r) => setTimeout(r, POLL_MS));
      ({ bulk } = await api<{ bulk: BulkAction }>('GET', `/jobs/bulk/${bulk.id}`));
      show(bulk);
    }
    await hooks.refresh();
  } finally {
    button.disabled = false;
  }
}

function show(b: BulkAction | null, error?: string): void {
  const out = $('bulk-result');
  const bar = $<HTMLProgressElement>('bulk-progress');
  if (!b) {
    out.className = 'error';
    out.textContent = error ?? '';
    bar.hidden = true;
    return;
  }
  const reached = b.done + b.skipped + b.failed;
  bar.hidden = false;
  bar.max = Math.max(1, b.matched);
  bar.value = reached;
  out.className = 'muted';
  out.setAttribute('data-bulk-status', b.status);
  out.textContent =
    `${b.action} ${b.status}: ${reached} of ${b.matched} reached, ${b.done} done, ` +
    `${b.skipped} skipped, ${b.failed} failed`;
}
