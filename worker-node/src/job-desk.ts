/**
 * Where jobs come into a node and leave it by the scheduler's word: a push dispatch (accepted or
 * rejected job by job), the jobs a pull node's lease answer or (wire version 3) a push node's
 * results answer carries, a cancel, and the health answer. The node (node.ts) owns the lifecycle;
 * this desk owns the checks a job passes before the runner starts it: the signature's replay
 * memory, the attempt's fencing against what the node holds, fitness and free room.
 */
import type {
  CancelRequest,
  DispatchAnswer,
  DispatchedJob,
  DispatchRequest,
} from '../../src/protocol/dispatch';
import type { Config } from './config';
import type { CreditLedger } from './credits';
import { errorBody, type Reply } from './http-server';
import type { ExecutorSet, JobRunner } from './job-runner';
import type { Logger } from './log';
import { ReplayGuard } from './replay-guard';

export interface DeskContext {
  config: Config;
  runner: JobRunner;
  executors: ExecutorSet;
  log: Logger;
  draining(): boolean;
  /** Wire version 3's grants, or null: then the node's free slots alone bound a dispatch. */
  credits(): CreditLedger | null;
}

export class JobDesk {
  private readonly guard = new ReplayGuard();

  constructor(private readonly c: DeskContext) {}

  dispatch(req: DispatchRequest, signature: string): Reply {
    const wrong = this.wrongWorker(req.worker_id);
    if (wrong) return wrong;
    const { runner, log } = this.c;
    const now = Date.now();
    const answer: DispatchAnswer = { accepted: [], rejected: [] };
    // An exact replay of a request already seen: every job in it is a duplicate.
    const replay = !this.guard.admit(`sig:${signature}`, now);
    // Granting credits, the node holds up to its slots plus prefetch; the grants keep to that.
    let free = this.c.credits() ? runner.room : runner.free;
    const toStart: DispatchedJob[] = [];
    for (const job of req.jobs) {
      const held = runner.holding(job.job_id);
      const reason =
        replay || this.guard.has(`job:${job.job_id}#${job.attempt}`, now)
          ? 'duplicate'
          : held && held.attempt > job.attempt
            ? 'stale_attempt'
            : (runner.unfit(job) ?? (free <= 0 ? 'busy' : null));
      if (reason) {
        answer.rejected.push({ job_id: job.job_id, reason });
        log.info('job_rejected', { job_id: job.job_id, attempt: job.attempt, reason });
        continue;
      }
      this.guard.admit(`job:${job.job_id}#${job.attempt}`, now);
      free--;
      answer.accepted.push(job.job_id);
      toStart.push(job);
      log.info('job_received', received(job));
    }
    for (const job of toStart) runner.start(job);
    this.c.credits()?.update();
    if (answer.accepted.length === 0 && answer.rejected.some((r) => r.reason === 'busy')) {
      return { status: 429, body: answer, headers: { 'retry-after': '1' } };
    }
    return { status: 202, body: answer };
  }

  /**
   * Jobs a pull node leased, or (version 3) a push node's results answer carried: they start as
   * accepted dispatches do.
   */
  take(jobs: DispatchedJob[], via: 'lease' | 'results'): void {
    const now = Date.now();
    for (const job of jobs) {
      // The scheduler hands a node only what it asked for (or granted) and can run, and these
      // answers have no rejections; a job we cannot run after all is started anyway, and reports
      // why (exit -1). Beyond the free slots it waits in the runner's queue, leased.
      this.guard.admit(`job:${job.job_id}#${job.attempt}`, now);
      this.c.log.info('job_received', { ...received(job), via });
      this.c.runner.start(job);
    }
  }

  cancel(req: CancelRequest): Reply {
    const wrong = this.wrongWorker(req.worker_id);
    if (wrong) return wrong;
    const cancelled = req.jobs
      .filter((lease) => this.c.runner.kill(lease, 'cancelled'))
      .map((l) => l.job_id);
    return { status: 200, body: { cancelled } };
  }

  health() {
    const { config, runner } = this.c;
    const draining = this.c.draining();
    return {
      id: config.workerId,
      status: draining ? 'draining' : 'active',
      draining,
      running: runner.running,
      leases: runner.leases().length,
      capacity: config.capacity,
      executors: this.c.executors.available,
    };
  }

  private wrongWorker(id: string): Reply | null {
    const me = this.c.config.workerId;
    if (id === me) return null;
    return { status: 409, body: errorBody('wrong_worker', `this node is ${me}, not ${id}`) };
  }
}

function received(job: DispatchedJob) {
  return {
    job_id: job.job_id,
    attempt: job.attempt,
    type: job.type,
    queue: job.queue,
    executor: job.executor,
    timeout_sec: job.timeout_sec,
  };
}
