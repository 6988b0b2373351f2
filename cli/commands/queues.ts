/** `queues show|pause|resume|set`: a queue's settings and the operator's controls over it. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { QueueSettings } from '../../src/protocol/queue';
import { printJson, type Ctx } from '../context';
import { renderFields } from '../format';
import type { Runner } from '../program';

/** What GET /queues/:name answers that this command prints. */
interface QueueView extends QueueSettings {
  depth: number;
  running: number;
  parked_by_concurrency_key: number;
  parked_by_rate_limit: number;
}

const path = (name: string, suffix = '') => `/queues/${encodeURIComponent(name)}${suffix}`;

/** A cap: a positive integer, or `none` to clear it (the API checks the range). */
export function parseCap(value: string): number | 'none' {
  const v = value.trim().toLowerCase();
  // Not null: commander would take a null from a parser for "no value".
  if (v === 'none' || v === 'null') return 'none';
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('a positive integer, or none.');
  return Number(v);
}

export function settingsLine(s: QueueSettings): string {
  const cap = s.concurrency_limit === null ? 'no cap' : `at most ${s.concurrency_limit} running`;
  return `${s.queue}: ${s.paused ? 'paused' : 'running'}, ${cap}\n`;
}

export function queueFields(q: QueueView): string {
  return renderFields([
    ['queue', q.queue],
    ['state', q.paused ? 'paused (accepts jobs, starts none)' : 'running'],
    ['cap', q.concurrency_limit === null ? 'none' : String(q.concurrency_limit)],
    ['queued', String(q.depth)],
    ['running', String(q.running)],
    ['waiting on a concurrency key', String(q.parked_by_concurrency_key)],
    ['waiting on a rate limit', String(q.parked_by_rate_limit)],
  ]);
}

export function registerQueues(program: Command, run: Runner): void {
  const queues = program
    .command('queues')
    .description("a queue's settings: show, pause, resume, set --concurrency-limit");

  queues
    .command('show')
    .description('the queue: paused or not, its cap, its queued, running and waiting jobs')
    .argument('<name>', 'queue name, e.g. default')
    .action(
      run(async (ctx: Ctx, name: string) => {
        const answer = await ctx.client.call<QueueView>('GET', path(name), {
          query: { limit: 1 },
        });
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(queueFields(answer));
      }),
    );

  const verb = (name: 'pause' | 'resume', description: string) =>
    queues
      .command(name)
      .description(description)
      .argument('<name>', 'queue name')
      .action(
        run(async (ctx: Ctx, queue: string) => {
          const answer = await ctx.client.call<QueueSettings>('POST', path(queue, `/${name}`));
          if (ctx.json) return printJson(ctx.io, answer);
          ctx.io.out(settingsLine(answer));
        }),
      );
  verb('pause', 'pause a queue: it accepts jobs and starts none; running jobs finish');
  verb('resume', 'resume a paused queue');

  queues
    .command('set')
    .description("change a queue's settings")
    .argument('<name>', 'queue name')
    .addOption(
      new Option(
        '--concurrency-limit <n>',
        'at most this many of its jobs run at once across all nodes; none clears it',
      )
        .argParser(parseCap)
        .makeOptionMandatory(),
    )
    .action(
      run(async (ctx: Ctx, name: string, flags: { concurrencyLimit: number | 'none' }) => {
        const cap = flags.concurrencyLimit;
        const answer = await ctx.client.call<QueueSettings>('PUT', path(name), {
          body: { concurrency_limit: cap === 'none' ? null : cap },
        });
        if (ctx.json) return printJson(ctx.io, answer);
        ctx.io.out(settingsLine(answer));
      }),
    );
}
