/**
 * The dashboard's script, built by esbuild (scripts/build-assets.mjs) into /dashboard/app.js. It only
 * calls the public API (GET /stats, /stats/history, /workers, /jobs, /jobs/:id/attempts, /jobs/bulk/:id,
 * /queues/:name; POST /jobs, /jobs/:id/cancel, /jobs/bulk, /queues/:name/pause and /resume), every
 * 2 s, and writes with textContent, never innerHTML.
 */
import { api, ApiError, messageOf, useKey } from './api';
import { drawChart } from './chart';
import { $, setText } from './dom';
import { showJob } from './job-dialog';
import { initBulk } from './bulk';
import { PAGE, renderJobs, renderStats, renderWorkers } from './render';
import { loadQueues, renderQueues } from './queues';
import type { History, Job, JobPage, Stats, WorkerList } from './types';

const POLL_MS = 2000;

const state = { offset: 0, total: 0, busy: false };

const value = (id: string) => $<HTMLInputElement | HTMLSelectElement>(id).value;

/** The list's filter, without the empty fields: GET /jobs and the bulk action both take it. */
function listFilter(): Record<string, string> {
  const filters: Record<string, string> = {
    status: value('filter-status'),
    priority: value('filter-priority'),
    type: value('filter-type').trim(),
    queue: value('filter-queue').trim(),
  };
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ''));
}

function jobQuery(): string {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
  for (const [k, v] of Object.entries(listFilter())) q.set(k, v);
  return `/jobs?${q}`;
}

async function refresh(): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  const conn = $('conn');
  try {
    const [stats, workers, jobs, history] = await Promise.all([
      api<Stats>('GET', '/stats'),
      api<WorkerList>('GET', '/workers'),
      api<JobPage>('GET', jobQuery()),
      api<History>('GET', '/stats/history'),
    ]);
    renderStats(stats);
    renderQueues(await loadQueues(stats.queues), refresh);
    renderWorkers(workers);
    state.total = jobs.total;
    renderJobs(jobs, state.offset, { open: openJob, cancel: cancelJob });
    drawChart(history);
    conn.textContent = 'live';
    conn.setAttribute('data-state', 'live');
    setText('updated', `updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    conn.textContent = `offline: ${messageOf(e)}`;
    conn.setAttribute('data-state', 'offline');
    if (e instanceof ApiError && e.status === 401) $('api-key').focus();
  } finally {
    state.busy = false;
  }
}

function openJob(id: string): void {
  showJob(id).catch((e) => setText('submit-result', `Could not load ${id}: ${messageOf(e)}`));
}

async function cancelJob(id: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    await api('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
  } catch (e) {
    setText('submit-result', `Cancel ${id}: ${messageOf(e)}`);
  }
  await refresh();
}

/** JSON when it parses, else the text as a string payload. */
function parsePayload(text: string): unknown {
  const t = text.trim();
  if (t === '') return '';
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}

async function submitJob(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  const out = $('submit-result');
  const body: Record<string, unknown> = {
    type: value('f-type').trim() || 'echo',
    payload: parsePayload(value('f-payload')),
    priority: Number(value('f-priority')),
  };
  const timeout = value('f-timeout');
  const delay = value('f-delay');
  const queue = value('f-queue').trim();
  if (timeout !== '') body.timeout_sec = Number(timeout);
  if (delay !== '' && Number(delay) > 0) body.delay_sec = Number(delay);
  if (queue !== '') body.queue = queue;
  const button = $<HTMLButtonElement>('f-submit');
  button.disabled = true;
  try {
    const j = (await api<{ job: Job }>('POST', '/jobs', body)).job;
    out.className = 'muted';
    out.textContent = `Submitted ${j.id} (${j.status})`;
    out.setAttribute('data-job-id', j.id);
    state.offset = 0;
    await refresh();
  } catch (e) {
    out.className = 'error';
    out.textContent = messageOf(e);
    out.removeAttribute('data-job-id');
  } finally {
    button.disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('submit-form').addEventListener('submit', submitJob);
  initBulk({ filter: listFilter, total: () => state.total, refresh });
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('api-key');
    useKey(input.value.trim());
    input.value = '';
    void refresh();
  });
  $('filters').addEventListener('input', () => {
    state.offset = 0;
    void refresh();
  });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE);
    void refresh();
  });
  $('next').addEventListener('click', () => {
    if (state.offset + PAGE >= state.total) return;
    state.offset += PAGE;
    void refresh();
  });
  void refresh();
  setInterval(() => void refresh(), POLL_MS);
});
