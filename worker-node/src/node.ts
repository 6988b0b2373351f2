/**
 * One worker node: the state the other pieces share (draining, the wire version, the credits) and the
 * lifecycle that orders them: listen, register, heartbeat, run; and on shutdown, drain, hand back
 * what is left, deregister.
 *
 * Listening comes before registering because the scheduler may dispatch the moment the node is in
 * its registry. A pull node (WORKER_MODE=pull) does not listen at all: after registering it
 * long-polls the API for its jobs (pull.ts), which then run exactly as pushed ones do.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HeartbeatAnswer, WorkerRegisterBody } from '../../src/protocol/worker';
import type { Credits } from '../../src/protocol/credits';
import { queueOfJobId } from '../../src/core/ids';
import { CreditLedger } from './credits';
import type { ApiClient } from './api-client';
import type { Config } from './config';
import { HeartbeatLoop } from './heartbeat';
import { createNodeServer } from './http-server';
import { JobDesk } from './job-desk';
import { JobRunner, type ExecutorSet } from './job-runner';
import { PullLoop } from './pull';
import { reportResult } from './reporter';
import { ResultBatcher } from './result-batch';
import { WIRE_PROTOCOL } from '../../src/protocol/results';
import type { Logger } from './log';
import { deregister, register, RegistrationRefused } from './registration';
import { noTracing, type Tracing } from './tracing';

/** A forced exit is someone in a hurry: a shorter chance to deregister than a drain's. */
const FORCED_DEREGISTER_MS = 3_000;

export class WorkerNode {
  private readonly runner: JobRunner;
  private readonly desk: JobDesk;
  private readonly heartbeat: HeartbeatLoop;
  /** Push mode only: a pull node has nothing to listen for. */
  private readonly server: Server | null;
  private readonly pull: PullLoop | null;
  /** Wire version 2: results in batches, and a pull node's carried by its lease requests. */
  private readonly results: ResultBatcher;
  /** The wire version the API answered at registration (docs/protocol.md, "Wire versions"). */
  private wire = 1;
  /** Wire version 3: the node's grants to its queues. */
  private credits: CreditLedger | null = null;
  /** The grants the heartbeat in flight carries (beats never overlap). */
  private beatCredits: Credits | undefined;
  private readonly life = new AbortController();
  /** Set by SIGTERM/SIGINT: never cleared. */
  private shuttingDown = false;
  /** Set by the scheduler through the heartbeat answer: cleared when it says so. */
  private drainRequested = false;
  private reregistering: Promise<void> | null = null;
  /** Set by a deliberate second signal: the drain gives way to it. */
  private forcing: Promise<number> | null = null;

  constructor(
    private readonly config: Config,
    private readonly executors: ExecutorSet,
    private readonly api: ApiClient,
    private readonly log: Logger,
    /** Called when the API refuses this node for good (bad token): main exits 1. */
    private readonly onFatal: (err: Error) => void,
    /** For the long polls of a pull node: a client whose deadline outlasts LEASE_WAIT_SEC. */
    leaseApi: ApiClient = api,
    tracing: Tracing = noTracing,
  ) {
    this.runner = new JobRunner({
      workerId: config.workerId,
      capacity: config.capacity,
      executors,
      api,
      log,
      apiUrl: config.apiUrl,
      tracing,
      report: (jobId, report, signal) =>
        this.wire >= 2
          ? this.results.report({ ...report, job_id: jobId }, signal)
          : reportResult(api, log, jobId, { ...report, worker_id: config.workerId }, signal),
      leaseEnded: (job) => this.credits?.freed(queueOfJobId(job.job_id), job.job_id),
      nodeJobs: {
        http: { allowlist: config.httpAllowlist, allowPrivate: config.httpAllowPrivate },
        shell: { allowShell: config.allowShell, allowlist: config.shellAllowlist },
      },
    });
    this.desk = new JobDesk({
      config,
      runner: this.runner,
      executors,
      log,
      draining: () => this.draining,
      credits: () => this.credits,
    });
    this.results = new ResultBatcher(
      api,
      config.workerId,
      log,
      () => this.pull?.carrying ?? false,
      () => {
        const ledger = this.credits;
        return ledger
          ? {
              credits: () => ledger.take(false),
              pending: () => ledger.pending,
              answered: (carried, answer, ended) => {
                // The leases first: the grants then count them as this node's.
                if (answer.jobs?.length) this.desk.take(answer.jobs, 'results');
                ledger.answered(carried, answer.standing, ended);
              },
              lost: (carried) => ledger.lost(carried),
            }
          : null;
      },
    );
    this.heartbeat = new HeartbeatLoop(
      api,
      config.workerId,
      log,
      {
        // Its queues: the API asks only their schedulers, and reads nothing from D1 for a beat.
        body: () => {
          // Beats never overlap: one still unanswered now has failed.
          if (this.beatCredits) this.credits?.lost(this.beatCredits);
          this.beatCredits = this.credits?.take(true);
          return {
            running: this.runner.leases(),
            draining: this.draining,
            queues: config.queues,
            ...(this.beatCredits ? { credits: this.beatCredits } : {}),
          };
        },
        onAnswer: (a) => this.onHeartbeatAnswer(a),
        onUnknown: () => this.reregister(),
        onRefused: (status, detail) => void this.refused(status, detail),
      },
      config.heartbeatIntervalMs,
    );
    this.server =
      config.mode === 'push'
        ? createNodeServer(
            {
              dispatch: (req, signature) => this.desk.dispatch(req, signature),
              cancel: (req) => this.desk.cancel(req),
              health: () => this.desk.health(),
              draining: () => this.draining,
            },
            // Its own key when it has one: then no other node's credential can sign a dispatch to it.
            () => [config.signingKey],
          )
        : null;
    this.pull =
      config.mode === 'pull'
        ? new PullLoop(
            leaseApi,
            config.workerId,
            log,
            {
              room: () => this.runner.room,
              whenRoom: (signal) => this.runner.whenRoom(signal),
              results: () => (this.wire >= 2 ? this.results : null),
              draining: () => this.draining,
              accept: (jobs) => this.desk.take(jobs, 'lease'),
              onUnknown: () => this.reregister(),
              credits: () => this.credits?.take(true),
              answered: (carried, standing, ended) =>
                this.credits?.answered(carried, standing, ended),
              lost: (carried) => this.credits?.lost(carried),
            },
            config.leaseWaitSec,
            config.queues,
            config.prefetch,
          )
        : null;
  }

  get draining(): boolean {
    return this.shuttingDown || this.drainRequested;
  }

  async start(): Promise<void> {
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.config.port, this.config.bind, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const port = (server.address() as AddressInfo).port;
      this.log.info('worker_listening', {
        port,
        endpoint: this.config.endpoint,
        executors: this.executors.available,
      });
    }
    await this.registerNow();
    this.heartbeat.start();
    if (this.pull && !this.shuttingDown) {
      this.log.info('worker_pulling', {
        wait_sec: this.config.leaseWaitSec,
        capacity: this.config.capacity,
        executors: this.executors.available,
      });
      this.pull.start();
    }
  }

  /** The SIGTERM path. Resolves with the exit code. */
  async shutdown(signalName: string): Promise<number> {
    if (this.shuttingDown) return 0;
    this.shuttingDown = true;
    this.log.info('worker_draining', {
      reason: signalName,
      running: this.runner.running,
      leases: this.runner.leases().length,
      drain_timeout_sec: this.config.drainTimeoutMs / 1000,
    });
    if (this.pull) {
      // The draining beat first: the scheduler then ends our waiting lease request empty, so aborting
      // it afterwards loses nothing. Jobs leased before that still run and are reported.
      await this.heartbeat.beatNow();
      await this.pull.stop();
    } else void this.heartbeat.beatNow();
    await this.runner.whenIdle(AbortSignal.timeout(this.config.drainTimeoutMs));
    if (this.forcing) return this.forcing;
    const left = this.runner.killAll('drain_deadline');
    if (left > 0) {
      this.log.warn('drain_deadline', { killed: left });
      await Promise.race([this.runner.settle(), new Promise((r) => setTimeout(r, 5_000))]);
    }
    this.heartbeat.stop();
    this.life.abort('shutdown');
    await deregister(this.api, this.config.workerId, this.log);
    await this.close();
    this.log.info('worker_stopped', { exit_code: 0 });
    return 0;
  }

  /**
   * The deliberate second signal: stop now, but leave nothing behind. The runners live in process
   * groups of their own (so a group signal does not kill them mid-drain), so they are killed here
   * one by one; the DELETE then hands their leases back, and the scheduler re-queues them at once
   * without spending a retry, instead of waiting out the heartbeat timeout. Resolves with 1.
   */
  forceExit(signalName: string): Promise<number> {
    this.forcing ??= (async () => {
      this.shuttingDown = true;
      const killed = this.runner.killAll('forced_exit');
      this.log.warn('worker_forced_exit', { signal: signalName, killed });
      await Promise.race([this.runner.settle(), new Promise((r) => setTimeout(r, 2_000))]);
      this.heartbeat.stop();
      this.life.abort('forced_exit');
      await deregister(this.api, this.config.workerId, this.log, FORCED_DEREGISTER_MS);
      await this.close();
      this.log.info('worker_stopped', { exit_code: 1 });
      return 1;
    })();
    return this.forcing;
  }

  /** Stops serving without deregistering; for fatal paths and tests. */
  async close(): Promise<void> {
    this.heartbeat.stop();
    this.life.abort('closed');
    await this.pull?.stop();
    this.results.stop();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await this.executors.close();
  }

  private registrationBody(): WorkerRegisterBody {
    return {
      id: this.config.workerId,
      // A push node sends no mode (the default): an API from before pull mode still accepts it.
      ...(this.config.mode === 'pull' ? { mode: 'pull' as const } : { url: this.config.endpoint }),
      capacity: this.config.capacity,
      executors: this.executors.available,
      queues: this.config.queues,
      protocol: WIRE_PROTOCOL,
      ...(this.config.types ? { types: this.config.types } : {}),
      ...(this.config.labels ? { labels: this.config.labels } : {}),
    };
  }

  private async registerNow(): Promise<void> {
    const { heartbeatIntervalSec, protocol } = await register(
      this.api,
      this.registrationBody(),
      this.log,
      this.life.signal,
    );
    this.followInterval(heartbeatIntervalSec);
    this.wire = protocol;
    // A pull node prefetches from version 2; a push node from version 3, within its credits, so
    // the results answer that carries its next job finds a slot's next job already waiting.
    this.runner.prefetch = (this.pull && protocol >= 2) || protocol >= 3 ? this.config.prefetch : 0;
    // Version 3: the queues give this node nothing until it grants them credits, at once.
    this.credits =
      protocol >= 3
        ? new CreditLedger(
            this.config.queues,
            () => this.config.capacity + this.runner.prefetch,
            () => this.runner.leases(),
            () => this.results.kick(),
          )
        : null;
    if (this.credits && this.life.signal.aborted === false) void this.heartbeat.beatNow();
  }

  /**
   * The API's interval wins when it is shorter than ours: it reaps by its own clock, and a node that
   * beats slower than the API expects would be reaped while healthy.
   */
  private followInterval(apiSec: number | undefined): void {
    if (apiSec === undefined) return;
    const ms = Math.min(this.config.heartbeatIntervalMs, apiSec * 1000);
    if (ms !== this.heartbeat.interval) this.heartbeat.setInterval(ms);
  }

  private reregister(): Promise<void> {
    this.reregistering ??= (async () => {
      // The API reaped us, so every lease we hold has been handed to someone else already.
      const killed = this.runner.killAll('reregistered');
      // A node on its way out has nothing to come back for: the drain simply ends sooner.
      if (this.shuttingDown) return;
      this.log.warn('worker_reregistering', { killed });
      try {
        await this.registerNow();
      } catch (err) {
        if (!this.life.signal.aborted) this.onFatal(err as Error);
      }
    })().finally(() => (this.reregistering = null));
    return this.reregistering;
  }

  /**
   * The API refuses our credential (a revoked node key): the scheduler has taken our leases back
   * already, so the jobs are killed rather than left running unreported, and main exits 1.
   */
  private async refused(status: number, detail: string): Promise<void> {
    if (this.life.signal.aborted) return;
    const killed = this.runner.killAll('credential_refused');
    this.log.error('worker_credential_refused', { status, detail, killed });
    await Promise.race([this.runner.settle(), new Promise((r) => setTimeout(r, 2_000))]);
    await this.close();
    this.onFatal(new RegistrationRefused(status, detail));
  }

  private onHeartbeatAnswer(a: HeartbeatAnswer): void {
    this.followInterval(a.heartbeat_interval_sec);
    if (this.beatCredits) this.credits?.answered(this.beatCredits, a.standing);
    this.beatCredits = undefined;
    for (const lease of a.kill) this.runner.kill(lease, 'lease_revoked');
    // While shutting down, the API echoing our own draining back is not news.
    if (a.drain !== this.drainRequested && !this.shuttingDown) {
      this.drainRequested = a.drain;
      this.log.info(a.drain ? 'worker_draining' : 'worker_resumed', {
        reason: 'scheduler',
        running: this.runner.running,
      });
    }
  }
}
