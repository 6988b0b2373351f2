/** A job's details in a dialog: its fields, every attempt that ended, its result, error and payload. */
import { api } from './api';
import { $, el, setText } from './dom';
import { fmtTime } from './format';
import type { Job, JobAttempt } from './types';

export async function showJob(id: string): Promise<void> {
  const path = `/jobs/${encodeURIComponent(id)}`;
  const j = (await api<{ job: Job }>('GET', path)).job;
  setText('job-title', j.id);
  const fields: [string, string | number][] = [
    ['status', j.status],
    ['attempts', `${j.attempts} (max retries ${j.max_retries})`],
    ['priority', j.priority],
    ['type', j.type],
    ['queue', j.queue],
    ['worker', j.worker_id || '–'],
    ['created', j.created_at],
    ['started', j.started_at || '–'],
    ['finished', j.finished_at || '–'],
    ['next attempt', j.next_attempt_at || '–'],
    ['timeout', `${j.timeout_sec} s`],
  ];
  $('job-fields').replaceChildren(
    ...fields.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]),
  );

  const tries = (await api<{ attempts: JobAttempt[] }>('GET', `${path}/attempts`)).attempts;
  const body = $<HTMLTableElement>('job-attempts').tBodies[0];
  body.replaceChildren();
  if (tries.length === 0)
    body.append(el('tr', {}, [el('td', { text: 'none ended yet', colSpan: 8 })]));
  for (const a of tries) {
    const cells = [
      a.attempt,
      a.reason,
      a.exit_code === null ? '–' : a.exit_code,
      a.worker_id || '–',
      a.executor || '–',
      fmtTime(a.started_at),
      fmtTime(a.finished_at),
      a.error || '',
    ];
    body.append(
      el(
        'tr',
        {},
        cells.map((v) => el('td', { text: String(v) })),
      ),
    );
  }
  setText('job-result', j.result ? JSON.stringify(j.result, null, 2) : '–');
  setText('job-error', j.error || '–');
  setText('job-payload', JSON.stringify(j.payload, null, 2));
  const dialog = $<HTMLDialogElement>('job-dialog');
  if (!dialog.open) dialog.showModal();
}
