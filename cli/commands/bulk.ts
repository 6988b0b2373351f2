/** `bulk` and `bulk-status`: one action on every job matching a filter (POST /jobs/bulk). */
import { Option, type Command } from 'commander';
import { printJson, type Ctx } from '../context';
import { JOB_STATUSES, parsePriority } from '../options';
import { UsageError } from '../exit-codes';
import type { Runner } from '../program';

/** As src/protocol/bulk.ts (a copy, so a command does not load zod; test/unit/cli checks they agree). */
export const BULK_ACTIONS = ['cancel', 'retry', 'replay', 'priority'] as const;

interface BulkView {
  id: string;
  action: string;
  status: 'running' | 'completed' | 'failed';
  matched: number;
  done: number;
  skipped: number;
  failed: number;
  problems: { job_id: string; reason: string }[];
  error: string | null;
}

export interface BulkFlags {
  action: (typeof BULK_ACTIONS)[number];
  queue?: string;
  status?: string;
  type?: string;
  priority?: number;
  createdAfter?: string;
  createdBefore?: string;
  newPriority?: number;
  wait?: boolean;
}

/** The request body from the flags; the API validates every field and names the one it refuses. */
export function bulkBody(f: BulkFlags): Record<string, unknown> {
  if (f.action === 'priority' && f.newPriority === undefined)
    throw new UsageError('--new-priority is required with --action priority');
  const filter = {
    queue: f.queue,
    status: f.status,
    type: f.type,
    priority: f.priority,
    created_after: f.createdAfter,
    created_before: f.createdBefore,
  };
  return {
    action: f.action,
    filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)),
    ...(f.newPriority !== undefined ? { priority: f.newPriority } : {}),
  };
}

/** One line of progress: `bk_... cancel running: 300/1500 done, 0 skipped, 0 failed`. */
export function bulkLine(b: BulkView): string {
  const seen = b.done + b.skipped + b.failed;
  return `${b.id} ${b.action} ${b.status}: ${seen}/${b.matched} reached, ${b.done} done, ${b.skipped} skipped, ${b.failed} failed${b.error ? ` (${b.error})` : ''}\n`;
}

export function registerBulk(program: Command, run: Runner): void {
  program
    .command('bulk')
    .description(
      'cancel, retry (same job again), replay (new copy) or re-prioritise every job matching a filter',
    )
    .addOption(
      new Option('-a, --action <action>', 'what to do to each job')
        .choices(BULK_ACTIONS)
        .makeOptionMandatory(),
    )
    .option('-q, --queue <name>', 'only jobs of this queue')
    .addOption(new Option('-s, --status <status>', 'only jobs in this state').choices(JOB_STATUSES))
    .option('-t, --type <type>', 'only jobs of this type')
    .addOption(
      new Option('-p, --priority <n>', 'only jobs of this priority').argParser(parsePriority),
    )
    .option('--created-after <time>', 'only jobs created after this RFC 3339 time')
    .option('--created-before <time>', 'only jobs created before this RFC 3339 time')
    .addOption(
      new Option('--new-priority <n>', 'the priority to set (with --action priority)').argParser(
        parsePriority,
      ),
    )
    .option('-w, --wait', 'follow a background action until it ends, printing its progress')
    .action(
      run(async (ctx: Ctx, flags: BulkFlags) => {
        let { bulk } = await ctx.client.call<{ bulk: BulkView }>('POST', '/jobs/bulk', {
          body: bulkBody(flags),
        });
        if (!ctx.json) ctx.io.out(bulkLine(bulk));
        while (flags.wait && bulk.status === 'running') {
          await ctx.io.sleep(1000);
          ({ bulk } = await ctx.client.call<{ bulk: BulkView }>('GET', `/jobs/bulk/${bulk.id}`));
          if (!ctx.json) ctx.io.out(bulkLine(bulk));
        }
        if (ctx.json) printJson(ctx.io, { bulk });
      }),
    );

  program
    .command('bulk-status')
    .description('the progress of a bulk action')
    .argument('<id>', 'bulk action id, e.g. bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q')
    .action(
      run(async (ctx: Ctx, id: string) => {
        const answer = await ctx.client.call<{ bulk: BulkView }>(
          'GET',
          `/jobs/bulk/${encodeURIComponent(id)}`,
        );
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(bulkLine(answer.bulk));
        for (const p of answer.bulk.problems) ctx.io.out(`  ${p.job_id}: ${p.reason}\n`);
      }),
    );
}
