/** How jobs read to a person: the list table, the dead-letter table and the detail of one job. */
import type { JobAttempt } from '../../src/protocol/attempt';
import type { Job } from '../../src/protocol/job';
import {
  ago,
  compactJson,
  formatDuration,
  prettyJson,
  renderFields,
  renderTable,
  type Column,
} from '../format';
import { progressBar, type JobProgress } from '../wait';

const tries = (j: Job) => `${j.attempts}/${j.max_retries + 1}`;

export function jobTable(jobs: Job[], now: number): string {
  const columns: Column<Job>[] = [
    { header: 'ID', value: (j) => j.id },
    { header: 'STATUS', value: (j) => j.status },
    { header: 'TYPE', value: (j) => j.type },
    { header: 'QUEUE', value: (j) => j.queue },
    { header: 'PRI', value: (j) => String(j.priority), align: 'right' },
    { header: 'TRIES', value: tries, align: 'right' },
    { header: 'CREATED', value: (j) => ago(j.created_at, now) },
  ];
  return renderTable(columns, jobs);
}

export function deadLetterTable(jobs: Job[], now: number): string {
  const columns: Column<Job>[] = [
    { header: 'ID', value: (j) => j.id },
    { header: 'TYPE', value: (j) => j.type },
    { header: 'QUEUE', value: (j) => j.queue },
    { header: 'TRIES', value: tries, align: 'right' },
    { header: 'FINISHED', value: (j) => ago(j.finished_at, now) },
    { header: 'ERROR', value: (j) => j.error ?? '', max: 72 },
  ];
  return renderTable(columns, jobs);
}

/** `1-20 of 153` under a page of a list, so a person knows there is more (and to use --offset). */
export function pageFooter(
  page: { total: number; offset: number },
  shown: number,
  noun: string,
): string {
  if (shown === 0)
    return page.total === 0
      ? `no ${noun}\n`
      : `no ${noun} at offset ${page.offset} (of ${page.total})\n`;
  return `${page.offset + 1}-${page.offset + shown} of ${page.total} ${noun}\n`;
}

export function jobDetail(job: Job & { progress?: JobProgress | null }, now: number): string {
  const r = job.result;
  const fields = renderFields([
    ['id', job.id],
    ['status', job.status],
    ['type', job.type],
    ['queue', job.queue],
    ['priority', String(job.priority)],
    ['attempts', `${job.attempts} of ${job.max_retries + 1}`],
    ['timeout', `${job.timeout_sec}s`],
    ['worker', job.worker_id ?? undefined],
    ['replay of', job.replay_of ?? undefined],
    ['trace', job.trace_id ?? undefined],
    ['created', `${job.created_at} (${ago(job.created_at, now)})`],
    ['started', job.started_at ? `${job.started_at} (${ago(job.started_at, now)})` : undefined],
    ['finished', job.finished_at ? `${job.finished_at} (${ago(job.finished_at, now)})` : undefined],
    [
      'next attempt',
      job.next_attempt_at && (job.status === 'scheduled' || job.status === 'retrying')
        ? `${job.next_attempt_at} (${ago(job.next_attempt_at, now)})`
        : undefined,
    ],
    ['progress', job.progress && job.status === 'running' ? progressBar(job.progress) : undefined],
    ['executor', r?.executor ?? undefined],
    ['exit code', r ? `${r.exit_code}${r.timed_out ? ' (timed out)' : ''}` : undefined],
    ['duration', r ? formatDuration(r.duration_ms) : undefined],
    ['error', job.error ?? undefined],
    ['payload', compactJson(job.payload)],
  ]);
  const output =
    r && r.output !== undefined && r.output !== null && r.output !== ''
      ? `output:\n${indent(prettyJson(r.output))}`
      : '';
  const stderr = r?.stderr
    ? `stderr:\n${indent(r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`)}`
    : '';
  return fields + output + stderr;
}

/** Every ended attempt under the detail, so two failures before a success are there to read. */
export function attemptTable(attempts: JobAttempt[]): string {
  if (attempts.length === 0) return '';
  const columns: Column<JobAttempt>[] = [
    { header: '#', value: (a) => String(a.attempt), align: 'right' },
    { header: 'REASON', value: (a) => a.reason },
    { header: 'EXIT', value: (a) => (a.exit_code === null ? '-' : String(a.exit_code)) },
    { header: 'NODE', value: (a) => a.worker_id ?? '-' },
    { header: 'EXECUTOR', value: (a) => a.executor ?? '-' },
    {
      header: 'TOOK',
      value: (a) =>
        a.started_at ? formatDuration(Date.parse(a.finished_at) - Date.parse(a.started_at)) : '-',
      align: 'right',
    },
    { header: 'FINISHED', value: (a) => a.finished_at },
    { header: 'ERROR', value: (a) => a.error ?? '', max: 60 },
  ];
  return `attempt history:\n${indent(renderTable(columns, attempts))}`;
}

const indent = (text: string) => text.replace(/^(?=.)/gm, '  ');
