/** Human-readable output: aligned tables, ages and durations. Pure functions of their input. */

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: 'left' | 'right';
  /** Longer cells are cut with an ellipsis. */
  max?: number;
}

/** Columns separated by two spaces; the last column is not padded, so lines carry no trailing blanks. */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const cells = rows.map((r) => columns.map((c) => truncate(oneLine(c.value(r)), c.max)));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((row) => row[i].length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const last = i === values.length - 1;
        if (columns[i].align === 'right') return v.padStart(widths[i]);
        return last ? v : v.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `key: value` lines with the keys aligned; entries whose value is undefined are left out. */
export function renderFields(fields: Array<[string, string | undefined]>): string {
  const present = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...present.map(([k]) => k.length)) + 1;
  return present.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n') + '\n';
}

export function truncate(text: string, max?: number): string {
  if (max === undefined || text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

/** 850ms, 4.2s, 3m 05s, 2h 04m, 3d 02h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const neg = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return `${neg}${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${neg}${s.toFixed(1)}s`;
  const whole = Math.floor(s);
  if (whole < 3600)
    return `${neg}${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  if (whole < 86_400)
    return `${neg}${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
  return `${neg}${Math.floor(whole / 86_400)}d ${String(Math.floor((whole % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** How long ago an RFC 3339 moment was, e.g. `5.2s ago`; `-` for null. A future moment reads `in 3m 00s`. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = now - t;
  return d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

/** A JSON value on one line, strings without quotes (what a person wants to read in a table). */
export function compactJson(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/** A whole value for a person to read: strings as they are, anything else as indented JSON. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') return value.endsWith('\n') ? value : `${value}\n`;
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '-' : `${(rate * 100).toFixed(1)}%`;
}
