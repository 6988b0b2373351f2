/**
 * The worker node processes of `cloud autoscale`: start one per slot, tell when it registered (its
 * `worker_registered` log line) and when it exited, and signal it.
 *
 * Each node runs in a process group of its own (detached), for two reasons: Ctrl-C in the terminal
 * reaches the autoscaler only, which then drains the nodes itself, one SIGTERM each; and a node
 * started through a wrapper (`npm run worker`, `sh -c`) gets the signal however deep it sits. The
 * node counts the copies a group delivers as one signal (worker-node/src/signals.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeEnv, REPO_ROOT, type AutoscaleConfig } from './config';

/** Lines of a node's stderr kept to explain its crash in the `node_exited` log line. */
const STDERR_TAIL = 5;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the node wrote to stderr, or why it could not be started. */
  stderrTail: string[];
}

export interface NodeCallbacks {
  registered(slot: number): void;
  exited(slot: number, info: ExitInfo): void;
}

interface Running {
  child: ChildProcess;
  log: WriteStream | null;
}

export class NodeProcesses {
  private readonly running = new Map<number, Running>();

  constructor(
    private readonly config: AutoscaleConfig,
    private readonly apiUrl: string,
    private readonly env: Record<string, string | undefined>,
    private readonly on: NodeCallbacks,
  ) {}

  /** Starts the node of `slot`; its pid, or undefined when it could not be spawned (exited follows). */
  start(slot: number, id: string): number | undefined {
    const env = nodeEnv(this.config, slot, id, this.apiUrl, this.env);
    const child = this.config.command
      ? spawn('/bin/sh', ['-c', this.config.command], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        })
      : spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'worker-node/src/main.ts')], {
          cwd: REPO_ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
    let log: WriteStream | null = null;
    if (this.config.nodeLogs) {
      mkdirSync(this.config.nodeLogs, { recursive: true });
      log = createWriteStream(join(this.config.nodeLogs, `${id}.log`), { flags: 'a' });
    }
    this.running.set(slot, { child, log });

    const tail: string[] = [];
    let done = false;
    const finish = (info: ExitInfo) => {
      if (done) return;
      done = true;
      if (this.running.get(slot)?.child === child) this.running.delete(slot);
      log?.end();
      this.on.exited(slot, info);
    };

    createInterface({ input: child.stdout! }).on('line', (line) => {
      log?.write(line + '\n');
      // A cheap test first: most lines are job events.
      if (line.includes('worker_registered') && eventOf(line) === 'worker_registered')
        this.on.registered(slot);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log?.write(line + '\n');
      tail.push(line.slice(0, 300));
      if (tail.length > STDERR_TAIL) tail.shift();
    });
    child.on('error', (err) => finish({ code: null, signal: null, stderrTail: [err.message] }));
    // 'close' rather than 'exit': it comes after the output is read, so the tail is complete.
    child.on('close', (code, signal) => finish({ code, signal, stderrTail: tail }));
    return child.pid;
  }

  pid(slot: number): number | undefined {
    return this.running.get(slot)?.child.pid;
  }

  /** SIGTERM to the node's group: it drains (a second one, later, forces it). */
  signal(slot: number, sig: NodeJS.Signals = 'SIGTERM'): void {
    const pid = this.pid(slot);
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone: its close event is on its way.
    }
  }

  get count(): number {
    return this.running.size;
  }
}

function eventOf(line: string): string | undefined {
  try {
    const o = JSON.parse(line) as { event?: unknown };
    return typeof o.event === 'string' ? o.event : undefined;
  } catch {
    return undefined;
  }
}
