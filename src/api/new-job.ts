import type { NewJob } from '../protocol/queue-object';
import type { JobSubmit } from '../protocol/job';
import { checkOutboundUrl } from '../core/url-policy';
import { newTraceContext, type JobTraceContext } from '../core/trace-context';
import type { Config } from '../env';
import { ApiError } from './errors';

/**
 * The one conversion from a submitted job body to the record the Scheduler stores. POST /jobs, the
 * batch, a replay and every schedule tick go through it, so a field added to JobSubmit reaches the
 * job whichever way it was submitted (issue 12: schedules once dropped callback_url by copying the
 * fields by hand). `depends_on` is the caller's: only a batch can resolve its indices.
 */
export function newJobOf(
  body: JobSubmit,
  at: {
    id: string;
    tenant: string;
    now: number;
    defaultTimeoutSec: number;
    replayOf?: string | null;
    /** The submitter's trace; without it the job starts a trace of its own (a schedule tick always). */
    trace?: JobTraceContext;
  },
): NewJob {
  const { now } = at;
  const trace = at.trace ?? newTraceContext();
  const runAt =
    body.debounce !== undefined
      ? now + body.debounce.delay_sec * 1000
      : body.run_at !== undefined
        ? Date.parse(body.run_at)
        : body.delay_sec !== undefined
          ? now + body.delay_sec * 1000
          : null;
  return {
    id: at.id,
    tenant: at.tenant,
    type: body.type,
    // A blob job stores a null payload; the node fetches the blob instead (routes/blobs.ts).
    payload: JSON.stringify(body.payload ?? null),
    priority: body.priority,
    max_retries: body.max_retries,
    timeout_sec: body.timeout_sec ?? at.defaultTimeoutSec,
    executor: body.executor ?? null,
    created_at: now,
    run_at: runAt,
    concurrency_key: body.concurrency_key ?? null,
    concurrency_limit: body.concurrency_key ? (body.concurrency_limit ?? 1) : null,
    rate_limit: body.rate_limit ?? null,
    requires: body.requires?.length ? body.requires : null,
    backoff: body.backoff ?? null,
    replay_of: at.replayOf ?? null,
    callback_url: body.callback_url ?? null,
    failure_callback_url: body.failure_callback_url ?? null,
    payload_blob: body.payload_blob ?? null,
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
    ...(body.debounce ? { debounce: body.debounce } : {}),
  };
}

/**
 * The body with its callback URLs checked and in canonical form: they follow the worker URL rules and
 * need a signing key to be configured. `field` names a field of this body in an error.
 */
export function withCheckedCallbacks(
  body: JobSubmit,
  field: (name: string) => string,
  config: Config,
): JobSubmit {
  const out = { ...body };
  for (const name of ['callback_url', 'failure_callback_url'] as const) {
    const url = body[name];
    if (url !== undefined) out[name] = checkCallback(url, field(name), config);
  }
  return out;
}

function checkCallback(url: string, field: string, config: Config): string {
  if (!config.CALLBACK_SIGNING_KEY)
    throw new ApiError(
      400,
      'callbacks_disabled',
      `${field}: callbacks need CALLBACK_SIGNING_KEY to be set on the scheduler`,
      { problems: [{ field, message: 'callbacks are not configured' }] },
    );
  const checked = checkOutboundUrl(url, {
    allowlist: config.WORKER_URL_ALLOWLIST,
    allowPrivate: config.ALLOW_PRIVATE_WORKER_URLS,
  });
  if (!checked.ok)
    throw new ApiError(400, 'validation_failed', `${field}: ${checked.reason}`, {
      problems: [{ field, message: checked.reason }],
    });
  return checked.url.toString();
}
