/** The summary cards, the workers table and the jobs table, redrawn from each poll's answers. */
import { $, el, setText } from './dom';
import { fmtAge, fmtTime } from './format';
import type { JobPage, Stats, WorkerList } from './types';

export const PAGE = 20;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function renderStats(s: Stats): void {
  setText('depth', String(s.queue_depth));
  for (const p of ['0', '1', '2']) setText(`depth-${p}`, String(s.queue_depth_by_priority[p] || 0));
  setText('live', String(s.live_workers));
  setText('registered', String(s.workers));
  setText('throughput', String(s.throughput.succeeded + s.throughput.failed));
  setText('success', s.success_rate === null ? '–' : `${(s.success_rate * 100).toFixed(1)}%`);
  const st = s.jobs_by_status;
  setText(
    'by-status',
    `${st.succeeded} ok · ${st.failed} failed · ${st.running} running · ${st.retrying || 0} retrying`,
  );
  setText('oldest', fmtAge(s.oldest_queued_age_sec));
  const stuck = Object.entries(s.unroutable.reasons)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(' · ');
  setText(
    'unroutable',
    s.unroutable.count === 0
      ? 'every queued job has a node that can run it'
      : `${s.unroutable.count} unroutable: ${stuck}`,
  );
  let p95: number | null = null;
  for (const { p95: q } of Object.values(s.wait_by_priority))
    if (q !== null && (p95 === null || q > p95)) p95 = q;
  setText('wait-p95', fmtAge(p95));
  const a = s.autoscale;
  const advice = $('advice');
  advice.textContent = a.action.replace('_', ' ');
  advice.className = `advice ${a.action}`;
  advice.setAttribute('data-action', a.action);
  setText('advice-workers', `${a.current_workers} → ${a.desired_workers} workers`);
  setText('advice-reason', `${a.reason} (since ${fmtTime(a.since)})`);
}

/** The page's own text for "no node registered", kept before a tenant's count replaces it. */
let noWorkersText: string | null = null;

export function renderWorkers(res: WorkerList): void {
  const list = res.workers ?? [];
  const tbody = $('workers').querySelector('tbody')!;
  tbody.replaceChildren();
  const none = $('no-workers');
  noWorkersText ??= none.textContent;
  none.textContent = res.workers
    ? noWorkersText
    : `${res.live_workers} live worker node(s) can run your jobs; their details are shown to the admin only.`;
  none.hidden = list.length > 0;
  for (const w of list) {
    const age = w.heartbeat_age_sec;
    const cls = age < 10 ? 'age-ok' : age < 30 ? 'age-late' : 'age-stale';
    tbody.append(
      el('tr', { 'data-worker-id': w.id }, [
        el('td', { class: 'id', text: w.id, title: w.url }),
        el('td', { text: w.status }),
        el('td', { text: `${w.running} / ${w.capacity}` }),
        el('td', { class: cls, text: `${fmtAge(age)} ago` }),
        el('td', { text: (w.executors ?? []).join(', ') }),
      ]),
    );
  }
}

export interface JobActions {
  open(id: string): void;
  cancel(id: string, button: HTMLButtonElement): void;
}

export function renderJobs(page: JobPage, offset: number, actions: JobActions): void {
  const tbody = $('jobs').querySelector('tbody')!;
  tbody.replaceChildren();
  for (const j of page.jobs) {
    const open = el('button', {
      type: 'button',
      class: 'link',
      text: j.id,
      title: 'Show attempts, result and error',
    });
    open.addEventListener('click', () => actions.open(j.id));
    const cell = el('td');
    if (!TERMINAL.has(j.status)) {
      const cancel = el('button', { type: 'button', class: 'cancel', text: 'Cancel' });
      cancel.addEventListener('click', () => actions.cancel(j.id, cancel));
      cell.append(cancel);
    }
    tbody.append(
      el('tr', { 'data-job-id': j.id, 'data-status': j.status }, [
        el('td', { class: 'id' }, [open]),
        el('td', { text: j.type }),
        el('td', {}, [el('span', { class: `prio p${j.priority}`, text: `P${j.priority}` })]),
        el('td', {}, [el('span', { class: `status ${j.status}`, text: j.status })]),
        el('td', { text: String(j.attempts) }),
        el('td', { text: fmtTime(j.created_at) }),
        el('td', { class: 'id', text: j.worker_id ?? '' }),
        cell,
      ]),
    );
  }
  setText('jobs-total', `${page.total} total`);
  const from = page.total === 0 ? 0 : offset + 1;
  setText('page', `${from}–${Math.min(offset + PAGE, page.total)} of ${page.total}`);
  $<HTMLButtonElement>('prev').disabled = offset === 0;
  $<HTMLButtonElement>('next').disabled = offset + PAGE >= page.total;
}
