/** `schedules list|create|pause|resume|delete`: recurring jobs, one per cron tick. */
import { Option, type Command } from 'commander';
import type { z } from '@hono/zod-openapi';
import type { Schedule, ScheduleCreate } from '../../src/protocol/schedule';
import { printJson, type Ctx } from '../context';
import { ago, renderTable, type Column } from '../format';
import { addJobOptions, jobBody, parseInteger, type JobFlags } from '../options';
import { pageFooter } from './job-views';
import type { Runner } from '../program';

export interface ScheduleFlags extends JobFlags {
  cron: string;
  timezone?: string;
  name?: string;
  overlap?: 'allow' | 'forbid';
}

/** POST /schedules body from the flags; the job part is built exactly as `submit` builds its body. */
export function scheduleBody(
  payloadArg: string | undefined,
  flags: ScheduleFlags,
  readFile?: (path: string) => string,
): z.input<typeof ScheduleCreate> {
  const body: z.input<typeof ScheduleCreate> = {
    cron: flags.cron,
    job: jobBody(payloadArg, flags, readFile),
  };
  if (flags.timezone !== undefined) body.timezone = flags.timezone;
  if (flags.overlap !== undefined) body.overlap = flags.overlap;
  if (flags.name !== undefined) body.name = flags.name;
  return body;
}

export function scheduleTable(schedules: Schedule[], now: number): string {
  const columns: Column<Schedule>[] = [
    { header: 'ID', value: (s) => s.id },
    { header: 'NAME', value: (s) => s.name ?? '', max: 24 },
    { header: 'CRON', value: (s) => s.cron },
    { header: 'TIMEZONE', value: (s) => s.timezone },
    { header: 'STATUS', value: (s) => s.status },
    { header: 'NEXT RUN', value: (s) => ago(s.next_run_at, now) },
    { header: 'RUNS', value: (s) => String(s.runs), align: 'right' },
    // A tick skipped by overlap=forbid or an empty rate-limit bucket created no job: say which.
    {
      header: 'SKIPPED',
      value: (s) =>
        s.skipped_ticks === 0
          ? '0'
          : `${s.skipped_ticks} (last: ${s.last_skip_reason ?? '?'} ${ago(s.last_skipped_at, now)})`,
    },
    { header: 'JOB', value: (s) => `${s.job.type} q=${s.job.queue} p=${s.job.priority}` },
  ];
  return renderTable(columns, schedules);
}

type Envelope = { schedule: Schedule };
const path = (id: string, suffix = '') => `/schedules/${encodeURIComponent(id)}${suffix}`;

export function registerSchedules(program: Command, run: Runner): void {
  const schedules = program
    .command('schedules')
    .description('recurring jobs: list, create, pause, resume, delete');

  schedules
    .command('list', { isDefault: true })
    .description('list schedules, newest first (the default)')
    .addOption(
      new Option('-s, --status <status>', 'only active or paused ones').choices([
        'active',
        'paused',
      ]),
    )
    .addOption(new Option('-n, --limit <n>', 'at most this many').argParser(parseInteger))
    .addOption(new Option('--offset <n>', 'skip this many').argParser(parseInteger))
    .action(
      run(async (ctx: Ctx, flags: { status?: string; limit?: number; offset?: number }) => {
        const answer = await ctx.client.call<{
          schedules: Schedule[];
          total: number;
          offset: number;
        }>('GET', '/schedules', { query: { ...flags } });
        if (ctx.json) return printJson(ctx.io, answer);
        if (answer.schedules.length) ctx.io.out(scheduleTable(answer.schedules, ctx.io.now()));
        ctx.io.out(pageFooter(answer, answer.schedules.length, 'schedules'));
      }),
    );

  const create = schedules
    .command('create')
    .description('create a schedule: every tick of the cron expression submits one job')
    .argument(
      '[payload]',
      "the job's payload: JSON when it parses as JSON, otherwise a string (default null)",
    )
    .requiredOption(
      '--cron <expr>',
      'five fields (minute hour day-of-month month day-of-week), six with seconds first, or @hourly etc.',
    )
    .option('--timezone <tz>', 'IANA time zone the cron fields are read in (default UTC)')
    .option('--name <name>', 'a name to recognise it by')
    .addOption(
      new Option(
        '--overlap <policy>',
        'forbid: skip a tick while the previous job is not finished (default allow)',
      ).choices(['allow', 'forbid']),
    );
  addJobOptions(create)
    .addHelpText(
      'after',
      `\nExample:\n  cloud schedules create --cron '*/5 * * * *' --name report --type primes '{"limit":1000}'`,
    )
    .action(
      run(async (ctx: Ctx, payloadArg: string | undefined, flags: ScheduleFlags) => {
        const answer = await ctx.client.call<Envelope>('POST', '/schedules', {
          body: scheduleBody(payloadArg, flags),
        });
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(
          `created ${answer.schedule.id} (next run ${ago(answer.schedule.next_run_at, ctx.io.now())})\n`,
        );
      }),
    );

  const verb = (name: 'pause' | 'resume' | 'delete', description: string, done: string) =>
    schedules
      .command(name)
      .description(description)
      .argument('<id>', 'schedule id, e.g. sch_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q')
      .action(
        run(async (ctx: Ctx, id: string) => {
          const answer =
            name === 'delete'
              ? await ctx.client.call<Envelope>('DELETE', path(id))
              : await ctx.client.call<Envelope>('POST', path(id, `/${name}`));
          if (ctx.json) return printJson(ctx.io, answer);
          ctx.io.out(`${done} ${answer.schedule.id}\n`);
        }),
      );
  verb('pause', 'pause a schedule: no tick fires until it is resumed', 'paused');
  verb(
    'resume',
    'resume a schedule from its next tick after now (missed ticks are not caught up)',
    'resumed',
  );
  verb('delete', 'delete a schedule (jobs it already submitted are not touched)', 'deleted');
}
