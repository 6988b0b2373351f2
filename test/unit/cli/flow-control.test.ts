/** `edit` and the flow-control flags of `submit`: the request they make and what they print. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/program';
import { apiError, fakeIo, makeJob, type Route } from './fake-io';

const ID = 'default.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q';

async function cli(argv: string[], route: Route) {
  const io = fakeIo(route);
  const code = await runCli(argv, io);
  return { code, io, req: io.requests[0] };
}

describe('edit', () => {
  it('PATCHes the job with the flags and prints its new state', async () => {
    const { code, io, req } = await cli(
      ['edit', ID, '--priority', 'high', '--delay', '600'],
      () => ({
        status: 200,
        body: {
          job: makeJob({
            priority: 0,
            status: 'scheduled',
            next_attempt_at: '2025-01-01T00:10:10.000Z',
          }),
        },
      }),
    );
    expect(code).toBe(0);
    expect(req.method).toBe('PATCH');
    expect(req.url.pathname).toBe(`/jobs/${ID}`);
    expect(req.body).toEqual({ priority: 0, delay_sec: 600 });
    expect(io.stdout).toBe(`edited ${ID} (scheduled, priority 0, due 2025-01-01T00:10:10.000Z)\n`);
  });

  it('is a usage error without a change, or with both --run-at and --delay', async () => {
    const none = await cli(['edit', ID], () => ({ status: 500 }));
    expect(none.code).toBe(2);
    expect(none.io.requests).toHaveLength(0);
    const both = await cli(
      ['edit', ID, '--run-at', '2030-01-01T00:00:00Z', '--delay', '5'],
      () => ({
        status: 500,
      }),
    );
    expect(both.code).toBe(2);
    expect(both.io.stderr).toContain('--run-at or --delay');
  });

  it("exits 1 with the API's reason for a job that started", async () => {
    const { code, io } = await cli(['edit', ID, '-p', '0'], () =>
      apiError(
        409,
        'job_not_editable',
        'the job is running: only a job that has not started can be edited',
        {
          status: 'running',
        },
      ),
    );
    expect(code).toBe(1);
    expect(io.stderr).toBe(
      'cloud: 409 job_not_editable: the job is running: only a job that has not started can be edited\n',
    );
  });
});

describe('submit --debounce, --dedup-key', () => {
  it('sends debounce as { key, delay_sec } and says the job was debounced into', async () => {
    const { req, io } = await cli(['submit', '{"v":2}', '--debounce', 'cart:7:30'], () => ({
      status: 200,
      body: { job: makeJob({ status: 'scheduled' }), debounced: true },
    }));
    expect(req.body).toEqual({ payload: { v: 2 }, debounce: { key: 'cart:7', delay_sec: 30 } });
    expect(io.stdout).toMatch(new RegExp(`^debounced into ${ID} \\(scheduled`));
  });

  it('sends dedup_key and dedup_ttl_sec and says the answer is the first job', async () => {
    const { req, io } = await cli(
      ['submit', 'x', '--dedup-key', 'order-9', '--dedup-ttl', '60'],
      () => ({
        status: 200,
        body: { job: makeJob(), deduplicated: true },
      }),
    );
    expect(req.body).toEqual({ payload: 'x', dedup_key: 'order-9', dedup_ttl_sec: 60 });
    expect(io.stdout).toMatch(new RegExp(`^deduplicated to ${ID}`));
  });

  it('refuses a --debounce without seconds before asking the API', async () => {
    const { code, io } = await cli(['submit', 'x', '--debounce', 'cart'], () => ({ status: 500 }));
    expect(code).toBe(2);
    expect(io.requests).toHaveLength(0);
  });
});
