/** Durations and times as the page shows them. */

export function fmtAge(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return '–';
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 90) return `${sec < 10 ? sec.toFixed(1) : Math.round(sec)} s`;
  if (sec < 5400) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

export function fmtTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleTimeString() : '–';
}
