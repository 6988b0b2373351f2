/** The queues panel: each queue's pause and cap, its figures, and a Pause or Resume button. */
import { api, messageOf } from './api';
import { $, el, setText } from './dom';
import type { QueueView } from './types';

/** At most this many queues are drawn (one request each per poll). */
const SHOWN = 20;

export async function loadQueues(names: string[]): Promise<QueueView[]> {
  return Promise.all(
    names
      .slice(0, SHOWN)
      .map((q) => api<QueueView>('GET', `/queues/${encodeURIComponent(q)}?limit=1`)),
  );
}

/** Pauses or resumes a queue, says how it went, then redraws the page. */
async function toggle(q: QueueView, button: HTMLButtonElement, redraw: () => Promise<void>) {
  button.disabled = true;
  const verb = q.paused ? 'resume' : 'pause';
  try {
    await api('POST', `/queues/${encodeURIComponent(q.queue)}/${verb}`);
    setText('queue-result', `${q.queue} ${q.paused ? 'resumed' : 'paused'}`);
  } catch (e) {
    setText('queue-result', `${verb} ${q.queue}: ${messageOf(e)}`);
  }
  await redraw();
}

export function renderQueues(queues: QueueView[], redraw: () => Promise<void>): void {
  const tbody = $('queues').querySelector('tbody')!;
  tbody.replaceChildren();
  for (const q of queues) {
    const button = el('button', {
      type: 'button',
      class: q.paused ? 'resume' : 'pause',
      text: q.paused ? 'Resume' : 'Pause',
      title: q.paused ? 'Start its jobs again' : 'Accept jobs, start none; running jobs finish',
    });
    button.addEventListener('click', () => void toggle(q, button, redraw));
    tbody.append(
      el('tr', { 'data-queue': q.queue, 'data-paused': String(q.paused) }, [
        el('td', { class: 'id', text: q.queue }),
        el('td', { text: q.paused ? 'paused' : 'running' }),
        el('td', { text: q.concurrency_limit === null ? '–' : String(q.concurrency_limit) }),
        el('td', { text: String(q.depth) }),
        el('td', { text: String(q.running) }),
        el('td', { text: String(q.parked_by_rate_limit) }),
        el('td', {}, [button]),
      ]),
    );
  }
}
