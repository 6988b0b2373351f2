// The in-memory half of bench/scheduler: push and pop cost and memory per queued job at 10k, 100k and
// 1M queued, for SeqHeap (src/core/heap.ts) and ReadyQueue (src/core/ready-queue.ts, what the
// Scheduler Durable Object keeps per queue), against tinyqueue (a well-known JS binary heap of
// objects) doing the same (priority, seq) ordering. Run under --expose-gc so memory is measured
// after a full collection.
import TinyQueue from 'tinyqueue';
import { SeqHeap } from '../../src/core/heap';
import { ReadyQueue } from '../../src/core/ready-queue';
import { round } from '../lib/report';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** Heap and off-heap (typed arrays) bytes in use after a full collection. */
function usedBytes(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

interface Subject {
  name: string;
  make(): {
    push(priority: number, seq: number, createdAt: number): void;
    pop(): number;
    size(): number;
  };
}

interface Entry {
  key: number;
  seq: number;
}

const SUBJECTS: Subject[] = [
  {
    name: 'SeqHeap',
    make() {
      const h = new SeqHeap();
      return { push: (p, seq) => h.push(p, seq), pop: () => h.pop(), size: () => h.size };
    },
  },
  {
    name: 'ReadyQueue',
    make() {
      // Strict priority (no aging), one tenant: the Durable Object's common case.
      const q = new ReadyQueue({ maxStarvationMs: () => 0, weightOf: () => 1 });
      return {
        push: (p, seq, createdAt) => q.push({ seq, tenant: 'default', priority: p, createdAt }),
        pop: () => q.pop(0)?.seq ?? -1,
        size: () => q.size,
      };
    },
  },
  {
    name: 'tinyqueue',
    make() {
      const q = new TinyQueue<Entry>([], (a, b) => a.key - b.key || a.seq - b.seq);
      return {
        push: (p, seq) => q.push({ key: p, seq }),
        pop: () => q.pop()?.seq ?? -1,
        size: () => q.length,
      };
    },
  },
];

export interface HeapRow {
  structure: string;
  queued: number;
  fill_ops_per_sec: number;
  push_us: number;
  pop_us: number;
  bytes_per_job: number;
  total_mib: number;
}

// A deterministic mix of priorities (0 high, 1 normal, 2 low) in submission order.
function priorityOf(seq: number): number {
  const x = Math.imul(seq ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return x % 10 < 2 ? 0 : x % 10 < 8 ? 1 : 2;
}

export function measure(subject: Subject, n: number): HeapRow {
  const before = usedBytes();
  const q = subject.make();
  let seq = 0;
  const t0 = performance.now();
  for (; seq < n; seq++) q.push(priorityOf(seq), seq, seq);
  const fillMs = performance.now() - t0;
  const bytes = usedBytes() - before;

  // At size n: pop a round of jobs (timed), push as many back (timed), so the size stays at n.
  const rounds = Math.min(n, 200_000);
  let sink = 0;
  const p0 = performance.now();
  for (let i = 0; i < rounds; i++) sink += q.pop();
  const popMs = performance.now() - p0;
  const s0 = performance.now();
  for (let i = 0; i < rounds; i++, seq++) q.push(priorityOf(seq), seq, seq);
  const pushMs = performance.now() - s0;
  if (q.size() !== n || sink < 0) throw new Error(`${subject.name}: size ${q.size()} != ${n}`);
  return {
    structure: subject.name,
    queued: n,
    fill_ops_per_sec: Math.round(n / (fillMs / 1000)),
    push_us: round((pushMs * 1000) / rounds, 3),
    pop_us: round((popMs * 1000) / rounds, 3),
    bytes_per_job: round(bytes / n, 1),
    total_mib: round(bytes / 2 ** 20, 1),
  };
}

export function heapBench(sizes: number[]): HeapRow[] {
  const rows: HeapRow[] = [];
  // A short warm-up so every subject is optimised before it is timed.
  for (const s of SUBJECTS) measure(s, 50_000);
  for (const n of sizes) for (const s of SUBJECTS) rows.push(measure(s, n));
  return rows;
}
