// The peer: BullMQ on a local Redis (Debian's redis-server, no persistence), with K worker processes
// (bench/lib/bullmq-worker.ts) started the way the cloud bench starts K worker nodes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Queue, type Job } from 'bullmq';
import { freePort, REPO_ROOT, waitFor } from '../../test/e2e/node-process';
import type { JobTimes } from './cloud';

export interface Redis {
  port: number;
  /** Its process group, for CPU accounting (bench/lib/cpu.ts). */
  pgid: number;
  /** Commands Redis has processed so far (INFO stats): BullMQ's unit of work. */
  commands(): number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<Redis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed: apt-get install -y redis-server');
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', detached: true },
  );
  let exited = false;
  child.on('exit', () => (exited = true));
  await waitFor(
    'redis-server to answer',
    () => {
      if (exited) throw new Error('redis-server exited');
      return (
        spawnSync('redis-cli', ['-p', String(port), 'ping'], {
          encoding: 'utf8',
        }).stdout?.trim() === 'PONG'
      );
    },
    10_000,
    50,
  );
  const commands = () => {
    const info = spawnSync('redis-cli', ['-p', String(port), 'INFO', 'stats'], {
      encoding: 'utf8',
    });
    return Number(/total_commands_processed:(\d+)/.exec(info.stdout ?? '')?.[1] ?? NaN);
  };
  return { port, pgid: child.pid!, commands, stop: () => killAndWait(child) };
}

export interface BullWorkers {
  /** Each worker process's group, for CPU accounting. */
  pgids: number[];
  stop(): Promise<void>;
}

/** K worker processes on `queue`, each with `concurrency` slots; resolves once all are connected. */
export async function startBullWorkers(
  port: number,
  queue: string,
  k: number,
  concurrency: number,
  mode: 'native' | 'noop' | 'http',
): Promise<BullWorkers> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < k; i++) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/lib/bullmq-worker.ts',
        String(port),
        queue,
        String(concurrency),
        mode,
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true,
      },
    );
    children.push(child);
  }
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          c.stdout!.setEncoding('utf8').on('data', (d: string) => {
            out += d;
            if (out.includes('ready')) resolve();
          });
          c.on('exit', (code) => reject(new Error(`bullmq worker exited ${code}`)));
        }),
    ),
  );
  return {
    pgids: children.map((c) => c.pid!),
    stop: async () => void (await Promise.all(children.map(killAndWait))),
  };
}

export function bullQueue(port: number, name: string): Queue {
  return new Queue(name, { connection: { host: '127.0.0.1', port } });
}

export interface BullJobBody {
  type: string;
  payload: unknown;
  priority?: number;
}

/** queue.addBulk, 100 jobs a call, `concurrency` calls in flight: the same batching as cloud's submit. */
export async function addBatches(
  queue: Queue,
  jobs: BullJobBody[],
  concurrency = 4,
): Promise<void> {
  const chunks: BullJobBody[][] = [];
  for (let i = 0; i < jobs.length; i += 100) chunks.push(jobs.slice(i, i + 100));
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < chunks.length; i = next++) await addChunk(queue, chunks[i]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, lane));
}

export async function addChunk(queue: Queue, jobs: BullJobBody[]): Promise<void> {
  // BullMQ: priority 0 means "no priority" (plain FIFO); 1 is the highest. Cloud's 0|1|2 map to 1|2|3.
  await queue.addBulk(
    jobs.map((j) => ({
      name: j.type,
      data: j,
      opts: j.priority === undefined ? {} : { priority: j.priority + 1 },
    })),
  );
}

export async function waitCompleted(queue: Queue, n: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `${n} BullMQ jobs to complete`,
    async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      if (c.failed > 0) throw new Error(`${c.failed} BullMQ jobs failed`);
      return c.completed >= n;
    },
    timeoutMs,
    50,
  );
}

/** Every completed job with the same timestamps cloud reports: created, started (processedOn), finished. */
export async function bullTimes(queue: Queue): Promise<JobTimes[]> {
  const jobs = (await queue.getJobs(['completed'], 0, -1)) as Job[];
  return jobs.map((j) => ({
    id: String(j.id),
    priority: (j.data as BullJobBody).priority ?? 1,
    type: j.name,
    payload: (j.data as BullJobBody).payload,
    created: j.timestamp,
    started: j.processedOn ?? NaN,
    finished: j.finishedOn ?? NaN,
  }));
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    return;
  }
  await gone;
}
