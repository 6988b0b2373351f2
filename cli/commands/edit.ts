/** `edit <id>`: PATCH /jobs/:id, a new priority or due time for a job that has not started. */
import { Option, type Command } from 'commander';
import type { Job } from '../../src/protocol/job';
import { printJson, type Ctx } from '../context';
import { parseInteger, parsePriority } from '../options';
import { UsageError } from '../exit-codes';
import type { Runner } from '../program';

export interface EditFlags {
  priority?: 0 | 1 | 2;
  runAt?: string;
  delay?: number;
}

/** The PATCH body from the flags; at least one is needed, and not both --run-at and --delay. */
export function editBody(flags: EditFlags): Record<string, unknown> {
  if (flags.runAt !== undefined && flags.delay !== undefined)
    throw new UsageError('give --run-at or --delay, not both');
  const body: Record<string, unknown> = {};
  if (flags.priority !== undefined) body.priority = flags.priority;
  if (flags.runAt !== undefined) body.run_at = flags.runAt;
  if (flags.delay !== undefined) body.delay_sec = flags.delay;
  if (Object.keys(body).length === 0) throw new UsageError('give --priority, --run-at or --delay');
  return body;
}

export function registerEdit(program: Command, run: Runner): void {
  program
    .command('edit')
    .description(
      'change the priority or due time of a job that has not started (waiting, scheduled, queued)',
    )
    .argument('<id>', 'job id')
    .addOption(
      new Option('-p, --priority <n>', '0 high, 1 normal, 2 low; or high, normal, low').argParser(
        parsePriority,
      ),
    )
    .option('--run-at <time>', 'RFC 3339 moment the job waits for (past: now)')
    .addOption(
      new Option('--delay <sec>', 'the job waits this many seconds from now').argParser(
        parseInteger,
      ),
    )
    .addHelpText(
      'after',
      `
Examples:
  cloud edit <id> --priority high          # ahead of the normal and low jobs waiting
  cloud edit <id> --delay 600              # a queued job waits ten more minutes (scheduled)
  cloud edit <id> --run-at 2026-12-01T09:00:00Z`,
    )
    .action(
      run(async (ctx: Ctx, id: string, flags: EditFlags) => {
        const answer = await ctx.client.call<{ job: Job }>(
          'PATCH',
          `/jobs/${encodeURIComponent(id)}`,
          { body: editBody(flags) },
        );
        if (ctx.json) return printJson(ctx.io, answer);
        const j = answer.job;
        const at = j.next_attempt_at ? `, due ${j.next_attempt_at}` : '';
        ctx.io.out(`edited ${j.id} (${j.status}, priority ${j.priority}${at})\n`);
      }),
    );
}
