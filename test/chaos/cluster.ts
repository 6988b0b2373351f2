/**
 * The system under test for the chaos suite: `startStack()` on a --persist-to directory this module
 * owns (so the API can be killed and started again on the same state), an `ApiProxy` the nodes talk
 * through (so their API_URL survives the API moving to a new port, and result reports can be lost or
 * doubled), and worker nodes each behind a `DispatchProxy`.
 *
 * Nodes are started with `startNodeProcess` rather than `stack.startNode`, because `stack.stop()`
 * kills its nodes and an API crash must not take the nodes with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../e2e/harness';
import { freePort, startNodeProcess, waitFor, type NodeProcess } from '../e2e/node-process';
import { startApiProxy, startDispatchProxy, type ApiProxy, type DispatchProxy } from './proxies';

export interface ChaosNode {
  readonly id: string;
  readonly queue: string;
  readonly port: number;
  readonly capacity: number;
  readonly proxy: DispatchProxy;
  /** The current process; replaced on restart. */
  proc: NodeProcess;
  /** Every process this node has been, oldest first: their logs are evidence too. */
  readonly history: NodeProcess[];
}

export class ChaosCluster {
  /** wrangler output of every API incarnation, in order. */
  readonly apiLog: string[] = [];
  readonly nodes: ChaosNode[] = [];
  apiRestarts = 0;

  private constructor(
    public stack: Stack,
    readonly apiProxy: ApiProxy,
    private readonly dir: string,
    private readonly vars: Record<string, string>,
  ) {}

  static async start(vars: Record<string, string>): Promise<ChaosCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'cloud-chaos-'));
    // The checker reads each job's lifecycle from the API log (job_submitted, job_completed, ...),
    // which the Worker writes at debug: a line per job costs too much to write in production.
    vars = { LOG_LEVEL: 'debug', ...vars };
    const stack = await startStack({ vars, persistTo: dir });
    // The proxy follows the cluster's current stack, which a restart replaces.
    const box: { cluster?: ChaosCluster } = {};
    const proxy = await startApiProxy(() => (box.cluster ?? { stack }).stack.api);
    box.cluster = new ChaosCluster(stack, proxy, dir, vars);
    return box.cluster;
  }

  get token(): string {
    return this.stack.token;
  }

  async startNode(id: string, queue: string, capacity: number): Promise<ChaosNode> {
    const port = await freePort();
    const proxy = await startDispatchProxy(port);
    const node: ChaosNode = {
      id,
      queue,
      port,
      capacity,
      proxy,
      proc: this.spawn(id, queue, capacity, port, proxy.url),
      history: [],
    };
    node.history.push(node.proc);
    this.nodes.push(node);
    await node.proc.waitForLog('worker_registered', undefined, 60_000);
    return node;
  }

  /** SIGKILL (no drain, no deregistration) and, unless told otherwise, start it again under the same id. */
  async crashNode(node: ChaosNode, restart = true): Promise<void> {
    await node.proc.kill();
    if (!restart) return;
    node.proc = this.spawn(node.id, node.queue, node.capacity, node.port, node.proxy.url);
    node.history.push(node.proc);
    await node.proc.waitForLog('worker_registered', undefined, 60_000).catch(() => undefined);
  }

  /** Kills the API (wrangler and workerd, SIGKILL) and starts it again on the same state. */
  async restartApi(): Promise<void> {
    this.apiLog.push(...this.stack.apiLog);
    await this.stack.stop();
    this.apiRestarts++;
    this.stack = await startStack({ vars: this.vars, persistTo: this.dir });
  }

  /** Every line the API has written, across restarts. */
  apiChunks(): string[] {
    return [...this.apiLog, ...this.stack.apiLog];
  }

  /** Removes a phase's nodes: killed, then deregistered so no shard keeps dispatching to them. */
  async retire(nodes: ChaosNode[]): Promise<void> {
    await Promise.all(
      nodes.map(async (n) => {
        await n.proc.kill();
        await this.stack
          .call('DELETE', `/workers/${encodeURIComponent(n.id)}`, undefined, {
            authorization: `Bearer ${this.token}`,
          })
          .catch(() => undefined);
        await n.proxy.close();
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        n.proc.signal('SIGCONT');
        await n.proc.kill();
        await n.proxy.close().catch(() => undefined);
      }),
    );
    await this.apiProxy.close().catch(() => undefined);
    await this.stack.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async waitUnlisted(id: string, timeoutMs: number): Promise<void> {
    await waitFor(
      `${id} to leave GET /workers`,
      async () => !(await this.stack.workers()).some((w) => w.id === id),
      timeoutMs,
      200,
    );
  }

  private spawn(
    id: string,
    queue: string,
    capacity: number,
    port: number,
    endpoint: string,
  ): NodeProcess {
    return startNodeProcess({
      port,
      id,
      echo: process.env.E2E_DEBUG === '1',
      env: {
        API_URL: this.apiProxy.url,
        WORKER_TOKEN: this.token,
        WORKER_ENDPOINT: endpoint,
        WORKER_CAPACITY: String(capacity),
        WORKER_QUEUES: queue,
        HEARTBEAT_INTERVAL_SEC: '1',
        DRAIN_TIMEOUT_SEC: '5',
        // The flow-limits phase's jobs are `http` jobs calling a receiver on this machine.
        HTTP_JOB_ALLOW_PRIVATE: '1',
      },
    });
  }
}
