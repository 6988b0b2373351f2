import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { render } from '../../../src/api/routes/metrics';
import type { Observation } from '../../../src/api/observe';
import { Telemetry } from '../../../durable-objects/telemetry';
import { parseConfig } from '../../../src/env';

const T0 = 1_700_000_000_000;

/** A realistic observation of two queues and two workers, built with the real Telemetry. */
function observation(): Observation {
  const parsed = parseConfig({ WORKER_TOKEN: 'test-worker-token' });
  if (!parsed.ok) throw new Error('config');
  const queues = ['default', 'bulk'].map((queue, qi) => {
    // bulk's D1 projection is behind by 4 changes, the oldest 2.5 s old; default's is caught up.
    const t = new Telemetry(undefined, () => ({ seconds: qi * 2.5, pending: qi * 4 }));
    t.submitted(5, T0);
    t.dispatched(120, 0, T0 + 100);
    t.dispatched(2500, 2, T0 + 200);
    t.completed(800, T0 + 1000);
    t.failed(T0 + 1100);
    t.retried(T0 + 1100);
    const stats = {
      queue,
      by_status: { queued: 3 },
      queued_by_priority: { '0': qi, '1': 2, '2': 1 },
      oldest_queued_at: T0 - 5000,
      workers: { registered: 2, live: 2, draining: 0, capacity: 2, running: 1 },
      unroutable: { count: 0, reasons: {} },
    };
    const { telemetry } = t.observe(T0 + 2000, queue, stats, parsed.config);
    return { queue, stats, telemetry };
  });
  const worker = (id: string, age: number) => ({
    id,
    mode: 'push' as const,
    url: `http://127.0.0.1:${9000 + age}`,
    status: 'active' as const,
    capacity: 1,
    running: 1,
    types: null,
    executors: ['native' as const],
    queues: ['default'],
    labels: {},
    registered_at: new Date(T0).toISOString(),
    last_heartbeat_at: new Date(T0).toISOString(),
    heartbeat_age_sec: age,
  });
  return {
    now: T0 + 2000,
    operator: true,
    queues: queues as unknown as Observation['queues'],
    workers: [worker('node-1:9090', 1.25), worker('node-2:9091', 4)],
    registeredWorkers: 2,
    liveWorkers: 2,
    jobsByStatus: {
      queued: 6,
      running: 2,
      succeeded: 2,
      failed: 2,
      cancelled: 0,
      scheduled: 0,
      retrying: 0,
    },
  };
}

describe('/metrics rendering', () => {
  it('has the families the issue asks for, with per-priority latency and per-worker heartbeat age', () => {
    const text = render(observation(), 90);
    expect(text).toContain('queue_depth{queue="bulk",priority="0"} 1');
    expect(text).toContain('job_total{status="succeeded"} 2');
    expect(text).toContain('worker_heartbeat_age_seconds{worker="node-2:9091"} 4');
    expect(text).toContain('worker_heartbeat_age_seconds_max 4');
    expect(text).toContain(
      'job_dispatch_latency_seconds_bucket{queue="default",priority="2",le="2.5"} 1',
    );
    expect(text).toContain('job_run_seconds_count{queue="default"} 1');
    expect(text).toContain('autoscale_recommendation{queue="default",action="hold"} 1');
    expect(text).toContain('queue_oldest_job_age_seconds{queue="default"} 7');
    expect(text).toContain('scheduler_projection_lag_seconds{queue="bulk"} 2.5');
    expect(text).toContain('scheduler_projection_pending{queue="bulk"} 4');
    expect(text).toContain('scheduler_projection_lag_seconds{queue="default"} 0');
    expect(text).toContain('scheduler_projection_pending{queue="default"} 0');
  });

  it('passes promtool check metrics', () => {
    // npm test installs promtool first (scripts/setup.sh): missing, it is a failure, not a skip.
    if (spawnSync('promtool', ['--version']).error)
      throw new Error('no promtool: run npm run setup (apt-get install prometheus)');
    const res = spawnSync('promtool', ['check', 'metrics'], {
      input: render(observation(), 90),
      encoding: 'utf8',
    });
    expect(`${res.stdout}${res.stderr}`).toBe('');
    expect(res.status).toBe(0);
  });
});
