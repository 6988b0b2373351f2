// CPU accounting from /proc, to say what limits a throughput figure: the machine's busy share over a
// phase, and CPU seconds spent by given process groups (wrangler dev with its workerd, each node).
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU ticks (user + system) of every live process, by process group. */
function groupTicks(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgid = Number(f[2]);
      out.set(pgid, (out.get(pgid) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The process group of the wrangler dev serving `port` (the harness starts it detached). */
export function wranglerGroup(port: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (
        !args.some((a) => a.includes('wrangler')) ||
        !args.includes('dev') ||
        !args.includes(port)
      )
        continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export interface CpuReport {
  /** Share of all cores busy over the phase, 0..1. */
  machine_busy: number;
  /** Cores' worth of CPU each named group used over the phase (1.0 = one core flat out). */
  cores_used: Record<string, number>;
}

export function cpuMeter(groups: Record<string, number | undefined>): () => CpuReport {
  const m0 = machineTicks();
  const g0 = groupTicks();
  const t0 = performance.now();
  return () => {
    const m1 = machineTicks();
    const g1 = groupTicks();
    const sec = (performance.now() - t0) / 1000;
    const cores: Record<string, number> = {};
    for (const [name, pgid] of Object.entries(groups)) {
      if (pgid === undefined) continue;
      const ticks = (g1.get(pgid) ?? 0) - (g0.get(pgid) ?? 0);
      cores[name] = Math.round((ticks / TICK / sec) * 100) / 100;
    }
    return {
      machine_busy:
        Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100) / 100,
      cores_used: cores,
    };
  };
}

/**
 * CPU seconds by command name within one process group, over a phase: wrangler dev's group holds
 * workerd and wrangler's own node process (which relays workerd's console), and they cost apart.
 */
export function groupByCommand(pgid: number): () => Record<string, number> {
  const ticks = () => {
    const out = new Map<string, number>();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(f[2]) !== pgid) continue;
        out.set(comm, (out.get(comm) ?? 0) + Number(f[11]) + Number(f[12]));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  };
  const t0 = ticks();
  return () => {
    const t1 = ticks();
    const out: Record<string, number> = {};
    for (const [comm, t] of t1) {
      const sec = (t - (t0.get(comm) ?? 0)) / TICK;
      if (sec > 0) out[comm] = sec;
    }
    return out;
  };
}
