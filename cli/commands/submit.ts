/** `submit [payload]`: POST /jobs, and with --wait follow the job to its end and print its result. */
import { Option, type Command } from 'commander';
import type { Job } from '../../src/protocol/job';
import { printJson, type Ctx } from '../context';
import { EXIT, JobEnded, UsageError } from '../exit-codes';
import { prettyJson } from '../format';
import { addJobOptions, jobBody, parseInteger, type JobFlags } from '../options';
import { INLINE_PAYLOAD_LIMIT, uploadBlob } from '../blobs';
import { ProgressReporter, waitForJob } from '../wait';
import type { Runner } from '../program';

export interface SubmitFlags extends JobFlags {
  idempotencyKey?: string;
  dependsOn?: string[];
  debounce?: string;
  dedupKey?: string;
  dedupTtl?: number;
  wait?: boolean;
  waitTimeout?: number;
}

export function registerSubmit(program: Command, run: Runner): void {
  const cmd = program
    .command('submit')
    .description('submit a job; with --wait, follow it to its end and print its result')
    .argument(
      '[payload]',
      'the payload: JSON when it parses as JSON, otherwise sent as a string (default null)',
    );
  addJobOptions(cmd)
    .option(
      '--idempotency-key <key>',
      'repeat-safe submission: the same key and payload give the same job',
    )
    .option(
      '--depends-on <ids...>',
      'job ids of the same queue that must succeed first (the job is waiting until then)',
    )
    .option(
      '--debounce <key:sec>',
      'debounce: later submissions of the key within sec replace this job (the last payload wins)',
    )
    .option('--dedup-key <key>', 'within the window, a repeat answers with the first job')
    .addOption(
      new Option('--dedup-ttl <sec>', 'the dedup window (default 3600)').argParser(parseInteger),
    )
    .option(
      '-w, --wait',
      'wait for the job to end, show its progress on stderr, print its result; exit 1 unless it succeeded',
    )
    .addOption(
      new Option(
        '--wait-timeout <sec>',
        'with --wait: stop waiting after this many seconds (exit 3; the job goes on)',
      ).argParser(parseInteger),
    )
    .addHelpText(
      'after',
      `
Examples:
  cloud submit hello
  cloud submit '{"limit":10000000}' --type primes --priority high --wait
  cloud submit --type fail --payload '{"code":1}' --max-retries 0 --wait   # exits 1
  id=$(cloud submit --payload-file job.json --json | jq -r .job.id)
  cloud submit --type echo done --depends-on "$id" --wait   # runs once $id has succeeded`,
    )
    .action(run(submit));
}

async function submit(ctx: Ctx, payloadArg: string | undefined, flags: SubmitFlags): Promise<void> {
  const body = jobBody(payloadArg, flags);
  if (flags.dependsOn?.length) body.depends_on = flags.dependsOn;
  if (flags.debounce !== undefined) body.debounce = debounceOf(flags.debounce);
  if (flags.dedupKey !== undefined) body.dedup_key = flags.dedupKey;
  if (flags.dedupTtl !== undefined) body.dedup_ttl_sec = flags.dedupTtl;
  // A payload file over the inline limit goes up as a blob first; the job names it instead.
  const serialised =
    flags.payloadFile !== undefined ? new TextEncoder().encode(JSON.stringify(body.payload)) : null;
  if (serialised && serialised.byteLength > INLINE_PAYLOAD_LIMIT) {
    const blob = await uploadBlob(ctx.client, serialised);
    delete body.payload;
    body.payload_blob = blob.id;
  }
  const headers = flags.idempotencyKey ? { 'x-idempotency-key': flags.idempotencyKey } : undefined;
  const started = ctx.io.now();
  const answer = await ctx.client.call<{ job: Job; debounced?: true; deduplicated?: true }>(
    'POST',
    '/jobs',
    { body, headers },
  );
  if (!flags.wait) {
    if (ctx.json) return printJson(ctx.io, answer);
    const j = answer.job;
    const how = answer.debounced
      ? 'debounced into'
      : answer.deduplicated
        ? 'deduplicated to'
        : 'submitted';
    ctx.io.out(
      `${how} ${j.id} (${j.status}, type ${j.type}, priority ${j.priority}, queue ${j.queue})\n`,
    );
    return;
  }

  const progress = new ProgressReporter(ctx, answer.job.id, started);
  progress.update(answer.job);
  let job: Job;
  try {
    job = await waitForJob(ctx, answer.job.id, {
      timeoutMs: flags.waitTimeout === undefined ? undefined : flags.waitTimeout * 1000,
      onJob: (j) => progress.update(j),
    });
  } finally {
    progress.finish();
  }
  if (ctx.json) printJson(ctx.io, { job });
  else if (job.status === 'succeeded' && job.result) ctx.io.out(prettyJson(job.result.output));
  if (job.status === 'failed')
    throw new JobEnded(
      `job ${job.id} failed after ${job.attempts} attempt${job.attempts === 1 ? '' : 's'}: ${job.error ?? 'no error message'}`,
      EXIT.FAILED,
    );
  if (job.status === 'cancelled')
    throw new JobEnded(
      `job ${job.id} was cancelled${job.error ? `: ${job.error}` : ''}`,
      EXIT.FAILED,
    );
}

/** `--debounce key:sec` as the API's `{ key, delay_sec }` (the key may itself hold colons). */
export function debounceOf(flag: string): { key: string; delay_sec: number } {
  const cut = flag.lastIndexOf(':');
  const sec = Number(flag.slice(cut + 1));
  if (cut <= 0 || !Number.isInteger(sec))
    throw new UsageError(`--debounce ${flag}: give key:seconds, e.g. cart-7:30`);
  return { key: flag.slice(0, cut), delay_sec: sec };
}
