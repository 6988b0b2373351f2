/**
 * The Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per family, then its
 * samples. Families are declared before samples are added, so a family with no samples still
 * documents itself and a name can never be typed twice.
 */
import type { HistogramSnapshot } from './histogram';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string | number>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Family {
  name: string;
  help: string;
  type: MetricType;
  lines: string[];
}

export class Exposition {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string): (value: number, labels?: Labels) => void {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    const f = this.declare(name, help, 'counter');
    return (value, labels) => f.lines.push(sample(name, labels, value));
  }

  gauge(name: string, help: string): (value: number, labels?: Labels) => void {
    const f = this.declare(name, help, 'gauge');
    return (value, labels) => f.lines.push(sample(name, labels, value));
  }

  histogram(name: string, help: string): (h: HistogramSnapshot, labels?: Labels) => void {
    const f = this.declare(name, help, 'histogram');
    return (h, labels = {}) => {
      h.bounds.forEach((le, i) =>
        f.lines.push(sample(`${name}_bucket`, { ...labels, le: formatNumber(le) }, h.counts[i])),
      );
      f.lines.push(sample(`${name}_bucket`, { ...labels, le: '+Inf' }, h.count));
      f.lines.push(sample(`${name}_sum`, labels, h.sum));
      f.lines.push(sample(`${name}_count`, labels, h.count));
    };
  }

  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.lines);
    }
    return `${out.join('\n')}\n`;
  }

  private declare(name: string, help: string, type: MetricType): Family {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    if (this.families.has(name)) throw new Error(`metric ${name} declared twice`);
    const f: Family = { name, help, type, lines: [] };
    this.families.set(name, f);
    return f;
  }
}

function sample(name: string, labels: Labels | undefined, value: number): string {
  const entries = Object.entries(labels ?? {});
  const body = entries
    .map(([k, v]) => {
      if (!LABEL.test(k) || k.startsWith('__')) throw new Error(`invalid label name ${k}`);
      return `${k}="${escapeLabel(String(v))}"`;
    })
    .join(',');
  return `${name}${body ? `{${body}}` : ''} ${formatNumber(value)}`;
}

export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A text exposition read back, `name{labels}` -> value: what a scraper sees, for the tests that
 * check /metrics and the benchmark that divides its counters by the jobs run.
 */
export function parseSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
