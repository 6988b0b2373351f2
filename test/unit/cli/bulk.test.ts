/** `cloud bulk` and `cloud bulk-status` against a fake API: the request, the progress, the exit codes. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/program';
import { BULK_ACTIONS } from '../../../cli/commands/bulk';
import { BULK_ACTIONS as PROTOCOL_ACTIONS } from '../../../src/protocol/bulk';
import { apiError, fakeIo, type Route } from './fake-io';

const bulk = (over: Record<string, unknown> = {}) => ({
  id: 'bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q',
  action: 'cancel',
  status: 'running',
  matched: 300,
  done: 0,
  skipped: 0,
  failed: 0,
  problems: [],
  error: null,
  ...over,
});

async function cli(argv: string[], route: Route) {
  const io = fakeIo(route);
  const code = await runCli(argv, io);
  return { code, io };
}

describe('cloud bulk', () => {
  it('knows the same actions as the API', () => {
    expect([...BULK_ACTIONS]).toEqual([...PROTOCOL_ACTIONS]);
  });

  it('posts the action and the filter, then follows a background action with --wait', async () => {
    let polls = 0;
    const { code, io } = await cli(
      ['bulk', '--action', 'cancel', '--status', 'queued', '--queue', 'q', '-p', 'low', '--wait'],
      (req) => {
        if (req.method === 'POST') return { status: 202, body: { bulk: bulk() } };
        polls++;
        return {
          status: 200,
          body: {
            bulk: bulk(polls < 2 ? { done: 100 } : { status: 'completed', done: 300 }),
          },
        };
      },
    );
    expect(code).toBe(0);
    expect(io.requests[0].body).toEqual({
      action: 'cancel',
      filter: { status: 'queued', queue: 'q', priority: 2 },
    });
    expect(io.requests[1].url.pathname).toBe('/jobs/bulk/bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q');
    expect(io.stdout.trim().split('\n')).toEqual([
      'bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q cancel running: 0/300 reached, 0 done, 0 skipped, 0 failed',
      'bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q cancel running: 100/300 reached, 100 done, 0 skipped, 0 failed',
      'bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q cancel completed: 300/300 reached, 300 done, 0 skipped, 0 failed',
    ]);
  });

  it('sends the new priority, and refuses --action priority without one (exit 2)', async () => {
    const answer = () => ({ status: 200, body: { bulk: bulk({ status: 'completed' }) } });
    const ok = await cli(['bulk', '-a', 'priority', '--new-priority', 'high', '--json'], answer);
    expect(ok.code).toBe(0);
    expect(ok.io.requests[0].body).toEqual({ action: 'priority', filter: {}, priority: 0 });
    expect(JSON.parse(ok.io.stdout).bulk.status).toBe('completed');
    const missing = await cli(['bulk', '-a', 'priority'], answer);
    expect(missing.code).toBe(2);
    expect(missing.io.requests).toHaveLength(0);
    expect((await cli(['bulk', '-a', 'delete'], answer)).code).toBe(2);
  });

  it("exits 1 with the API's field-named refusal", async () => {
    const res = await cli(['bulk', '-a', 'cancel', '--created-after', 'yesterday'], () =>
      apiError(
        400,
        'validation_failed',
        'invalid body: filter.created_after: Invalid ISO datetime',
      ),
    );
    expect(res.code).toBe(1);
    expect(res.io.stderr).toContain('filter.created_after');
  });

  it('bulk-status prints the progress and the problems', async () => {
    const { code, io } = await cli(['bulk-status', 'bk_01JD2K7Q6V9X8Y7Z6W5T4S3R2Q'], () => ({
      status: 200,
      body: {
        bulk: bulk({
          status: 'completed',
          done: 299,
          skipped: 1,
          problems: [{ job_id: 'q.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q', reason: 'job is succeeded' }],
        }),
      },
    }));
    expect(code).toBe(0);
    expect(io.stdout).toContain('completed: 300/300 reached, 299 done, 1 skipped');
    expect(io.stdout).toContain('  q.01JD2K7Q6V9X8Y7Z6W5T4S3R2Q: job is succeeded\n');
  });
});
