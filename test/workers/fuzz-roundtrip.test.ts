/**
 * The positive side of the API fuzzing: any job body valid by the rules of JobSubmit
 * (src/protocol/job.ts) is accepted with 201 and reads back equal, the payload exactly (unicode with
 * lone surrogates, every kind of number, key order), the other fields with their defaults filled in.
 * Seeds and run counts: test/fuzz-support/config.ts (VITE_FUZZ_SEED, VITE_FUZZ_RUNS).
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { json, raw } from '../fuzz-support/api-client';
import { describeRequest } from '../fuzz-support/api-property';
import { validJobSubmit } from '../fuzz-support/arbitraries';
import { fuzzParams } from '../fuzz-support/config';

vi.setConfig({ testTimeout: 60_000 });

const Q = 'fuzz-roundtrip';
const post = (path: string, body: unknown) => ({
  method: 'POST',
  path,
  body: JSON.stringify(body),
});

describe('fuzz valid POST /jobs', () => {
  it('valid job bodies are accepted with 201 and read back equal', async () => {
    await fc.assert(
      fc.asyncProperty(validJobSubmit(Q), async (body) => {
        const res = await json('POST', '/jobs', body);
        const what = describeRequest(post('/jobs', body));
        expect(res.status, `${what} -> ${res.text.slice(0, 400)}`).toBe(201);
        const got = await raw({ method: 'GET', path: `/jobs/${res.body.job.id}` });
        expect(got.status).toBe(200);
        const job = got.body.job;
        expect(job).toEqual(res.body.job);
        // Exactly the JSON the client meant: unicode (lone surrogates included), numbers, key order.
        expect(JSON.stringify(job.payload), what).toBe(JSON.stringify(body.payload));
        const b = body as Record<string, any>;
        expect(job, what).toMatchObject({
          queue: Q,
          type: b.type ?? 'echo',
          priority: b.priority ?? 1,
          max_retries: b.max_retries ?? 3,
          timeout_sec: b.timeout_sec ?? 300,
          executor: b.executor ?? null,
          concurrency_key: b.concurrency_key ?? null,
          concurrency_limit: b.concurrency_key === undefined ? null : (b.concurrency_limit ?? 1),
          requires: b.requires ?? [],
          backoff:
            b.backoff === undefined ? null : { type: 'exponential', jitter: false, ...b.backoff },
        });
        const runAt =
          b.run_at !== undefined
            ? Date.parse(b.run_at)
            : b.delay_sec
              ? Date.parse(job.created_at) + b.delay_sec * 1000
              : null;
        if (runAt !== null && runAt > Date.now() + 5000) {
          expect(job.status, what).toBe('scheduled');
          if (b.run_at !== undefined)
            expect(job.next_attempt_at, what).toBe(new Date(runAt).toISOString());
        }
        if (runAt === null) expect(job.status, what).toBe('queued');
      }),
      fuzzParams('POST /jobs valid round trip', 100),
    );
  });
});
