/** `get`, `list`, `cancel`, `replay` and `dead-letters`: reading and acting on jobs that exist. */
import { Option, type Command } from 'commander';
import type { Job } from '../../src/protocol/job';
import { printJson, type Ctx } from '../context';
import { JOB_STATUSES, parseInteger, parsePriority } from '../options';
import type { JobAttempt } from '../../src/protocol/attempt';
import { attemptTable, deadLetterTable, jobDetail, jobTable, pageFooter } from './job-views';
import type { Runner } from '../program';

export interface ListFlags {
  status?: string;
  priority?: number;
  type?: string;
  queue?: string;
  limit?: number;
  offset?: number;
}

/** GET /jobs query from the flags; the API fills the defaults (limit 50, offset 0). */
export function listQuery(flags: ListFlags): Record<string, string | number | undefined> {
  return {
    status: flags.status,
    priority: flags.priority,
    type: flags.type,
    queue: flags.queue,
    limit: flags.limit,
    offset: flags.offset,
  };
}

type JobList = { jobs: Job[]; total: number; limit: number; offset: number };
const jobPath = (id: string, suffix = '') => `/jobs/${encodeURIComponent(id)}${suffix}`;

export function registerJobCommands(program: Command, run: Runner): void {
  program
    .command('get')
    .description('show a job: its state, attempts, result or error')
    .argument('<id>', 'job id, e.g. default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q')
    .action(
      run(async (ctx: Ctx, id: string) => {
        const answer = await ctx.client.call<{ job: Job }>('GET', jobPath(id));
        const { attempts = [] } = await ctx.client.call<{ attempts?: JobAttempt[] }>(
          'GET',
          jobPath(id, '/attempts'),
        );
        if (ctx.json) return printJson(ctx.io, { ...answer, attempts });
        ctx.io.out(jobDetail(answer.job, ctx.io.now()) + attemptTable(attempts));
      }),
    );

  program
    .command('list')
    .description('list jobs, newest first')
    .addOption(new Option('-s, --status <status>', 'only jobs in this state').choices(JOB_STATUSES))
    .addOption(
      new Option(
        '-p, --priority <n>',
        'only this priority (0, 1, 2 or high, normal, low)',
      ).argParser(parsePriority),
    )
    .option('-t, --type <type>', 'only this job type')
    .option('-q, --queue <name>', 'only this queue')
    .addOption(
      new Option('-n, --limit <n>', 'at most this many (API default 50, at most 500)').argParser(
        parseInteger,
      ),
    )
    .addOption(new Option('--offset <n>', 'skip this many').argParser(parseInteger))
    .action(
      run(async (ctx: Ctx, flags: ListFlags) => {
        const answer = await ctx.client.call<JobList>('GET', '/jobs', { query: listQuery(flags) });
        if (ctx.json) return printJson(ctx.io, answer);
        if (answer.jobs.length) ctx.io.out(jobTable(answer.jobs, ctx.io.now()));
        ctx.io.out(pageFooter(answer, answer.jobs.length, 'jobs'));
      }),
    );

  program
    .command('cancel')
    .description(
      'cancel a scheduled, queued, retrying or running job (a running one is killed on its node)',
    )
    .argument('<id>', 'job id')
    .action(
      run(async (ctx: Ctx, id: string) => {
        const answer = await ctx.client.call<{ job: Job }>('POST', jobPath(id, '/cancel'));
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(`cancelled ${answer.job.id}\n`);
      }),
    );

  program
    .command('replay')
    .description('submit a finished job again as a new job linked to it (replay_of)')
    .argument('<id>', 'id of a succeeded, failed or cancelled job')
    .action(
      run(async (ctx: Ctx, id: string) => {
        const answer = await ctx.client.call<{ job: Job }>('POST', jobPath(id, '/replay'));
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(`replayed ${id} as ${answer.job.id} (${answer.job.status})\n`);
      }),
    );

  program
    .command('dead-letters')
    .description('failed jobs (retries exhausted or a permanent failure), newest first')
    .option('-t, --type <type>', 'only this job type')
    .option('-q, --queue <name>', 'only this queue')
    .addOption(
      new Option('-n, --limit <n>', 'at most this many (API default 50)').argParser(parseInteger),
    )
    .addOption(new Option('--offset <n>', 'skip this many').argParser(parseInteger))
    .action(
      run(async (ctx: Ctx, flags: ListFlags) => {
        const answer = await ctx.client.call<JobList>('GET', '/dead-letters', {
          query: { type: flags.type, queue: flags.queue, limit: flags.limit, offset: flags.offset },
        });
        if (ctx.json) return printJson(ctx.io, answer);
        if (answer.jobs.length) ctx.io.out(deadLetterTable(answer.jobs, ctx.io.now()));
        ctx.io.out(pageFooter(answer, answer.jobs.length, 'dead letters'));
      }),
    );
}
