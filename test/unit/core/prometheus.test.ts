import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../../src/core/histogram';
import { Exposition } from '../../../src/core/prometheus';

describe('Prometheus exposition', () => {
  it('renders HELP, TYPE and samples with escaped labels', () => {
    const x = new Exposition();
    const jobs = x.counter('job_total', 'Jobs that entered each status.\nSecond line');
    jobs(3, { status: 'queued', queue: 'default' });
    x.gauge('queue_depth', 'Jobs waiting')(2, { queue: 'a"b\\c\nd' });
    x.gauge('empty_family', 'Declared, no samples');
    expect(x.render()).toBe(
      [
        '# HELP job_total Jobs that entered each status.\\nSecond line',
        '# TYPE job_total counter',
        'job_total{status="queued",queue="default"} 3',
        '# HELP queue_depth Jobs waiting',
        '# TYPE queue_depth gauge',
        'queue_depth{queue="a\\"b\\\\c\\nd"} 2',
        '# HELP empty_family Declared, no samples',
        '# TYPE empty_family gauge',
        '',
      ].join('\n'),
    );
  });

  it('renders histograms with cumulative buckets, +Inf, sum and count', () => {
    const h = new Histogram([0.5, 1]);
    h.observe(0.25);
    h.observe(2);
    const x = new Exposition();
    x.histogram('wait_seconds', 'Wait')(h.snapshot(), { priority: 0 });
    expect(x.render()).toContain(
      [
        'wait_seconds_bucket{priority="0",le="0.5"} 1',
        'wait_seconds_bucket{priority="0",le="1"} 1',
        'wait_seconds_bucket{priority="0",le="+Inf"} 2',
        'wait_seconds_sum{priority="0"} 2.25',
        'wait_seconds_count{priority="0"} 2',
      ].join('\n'),
    );
  });

  it('refuses what Prometheus would refuse', () => {
    const x = new Exposition();
    expect(() => x.counter('jobs', 'no _total')).toThrow(/_total/);
    x.gauge('a', 'a');
    expect(() => x.gauge('a', 'again')).toThrow(/twice/);
    expect(() => x.gauge('1bad', 'bad')).toThrow(/invalid metric name/);
    expect(() => x.gauge('ok', 'ok')(1, { 'bad-label': 'x' })).toThrow(/invalid label/);
  });

  it('passes promtool check metrics', () => {
    // npm test installs promtool first (scripts/setup.sh): missing, it is a failure, not a skip.
    if (spawnSync('promtool', ['--version']).error)
      throw new Error('no promtool: run npm run setup (apt-get install prometheus)');
    const x = new Exposition();
    x.counter('jobs_submitted_total', 'Jobs accepted')(5, { queue: 'default' });
    x.gauge('worker_heartbeat_age_seconds', 'Seconds since heartbeat')(1.5, {
      worker: 'node-1:9090',
    });
    const h = new Histogram([0.1, 1]);
    h.observe(0.3);
    x.histogram('job_dispatch_latency_seconds', 'Queued to running')(h.snapshot(), {
      queue: 'default',
      priority: 1,
    });
    const res = spawnSync('promtool', ['check', 'metrics'], {
      input: x.render(),
      encoding: 'utf8',
    });
    expect(`${res.stdout}${res.stderr}`).toBe('');
    expect(res.status).toBe(0);
  });
});
