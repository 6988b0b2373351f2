/**
 * What `cloud autoscale` shows. On a terminal: a live screen, redrawn in place, of the advice, the
 * nodes and the last actions. Elsewhere (a pipe, a file, systemd's journal): the actions as JSON
 * lines and nothing else, so `jq` and log shippers read them as they are.
 */
import { formatDuration, renderTable, type Column } from '../format';
import type { AutoscaleConfig } from './config';
import { active, type AutoscaleState, type NodeState } from './decide';

/** One action or event, as logged: `event` first. */
export type LogLine = { event: string } & Record<string, unknown>;

export const RECENT_LINES = 8;

export interface ScreenInput {
  state: AutoscaleState;
  config: AutoscaleConfig;
  apiUrl: string;
  pids: ReadonlyMap<number, number>;
  recent: readonly LogLine[];
  now: number;
  /** The last problem reaching the API, shown until a poll succeeds. */
  problem: string | null;
}

export function renderScreen(i: ScreenInput): string {
  const { state: s, config: c, now } = i;
  const a = s.advice;
  const source = [
    c.intervalSec !== null ? `polling ${i.apiUrl}/stats every ${c.intervalSec}s` : null,
    c.listen ? `webhook on ${c.listen.host}:${c.listen.port}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const head = [
    `cloud autoscale: ${source}; queues ${c.queues.join(',')}; ${c.mode} nodes`,
    `nodes: ${active(s).length} (MIN_WORKERS ${c.policy.minWorkers}, max here ${c.policy.maxWorkers})` +
      (s.stopping ? ': stopping, draining every node' : ''),
    a
      ? `advice: ${a.action} ${a.current} → ${a.desired}${a.queue ? ` (${a.queue})` : ''}, ${formatDuration(now - a.observedAt)} ago: ${a.reason}`
      : 'advice: none yet',
  ];
  if (i.problem) head.push(`API: ${i.problem}`);
  if (s.lowSince !== null)
    head.push(
      `fewer nodes wanted for ${formatDuration(now - s.lowSince)} of ${formatDuration(c.policy.scaleDownStableMs)}`,
    );
  const columns: Column<NodeState>[] = [
    { header: 'NODE', value: (n) => n.id },
    { header: 'PID', value: (n) => String(i.pids.get(n.slot) ?? '-'), align: 'right' },
    { header: 'STATUS', value: (n) => statusText(n, now) },
    {
      header: 'UP',
      value: (n) => (n.status === 'waiting_restart' ? '-' : formatDuration(now - n.startedAt)),
    },
    { header: 'CRASHES', value: (n) => String(n.crashes), align: 'right' },
    { header: 'PORT', value: (n) => (c.mode === 'push' ? String(c.portBase + n.slot - 1) : '-') },
  ];
  const table = s.nodes.length ? renderTable(columns, s.nodes) : 'no nodes\n';
  const recent = i.recent.map((l) => `  ${compactLine(l)}`).join('\n');
  return `${head.join('\n')}\n\n${table}\nrecent actions:\n${recent || '  none'}\n`;
}

function statusText(n: NodeState, now: number): string {
  if (n.status === 'waiting_restart' && n.restartAt !== null)
    return `restart in ${formatDuration(Math.max(0, n.restartAt - now))}`;
  return n.status;
}

/** `12:00:01 scale_up node=host-auto-2 pid=4242 reason=...`: a log line for a person. */
export function compactLine(l: LogLine): string {
  const { event, ts, ...rest } = l;
  const time = typeof ts === 'string' ? ts.slice(11, 19) : '';
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${event} ${fields}`.trim();
}

/** Clears the terminal and draws from the top: the screen is short, so a redraw does not flicker much. */
export const redraw = (screen: string) => `\x1b[H\x1b[2J${screen}`;
