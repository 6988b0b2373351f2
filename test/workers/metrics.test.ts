import { describe, expect, it } from 'vitest';
import { parseSamples as samples } from '../../src/core/prometheus';
import { api, WORKER_TOKEN, waitFor } from './helpers';

// Its own client address, so the submission rate limit of other files does not touch this one.
const client = { 'cf-connecting-ip': '198.51.100.10' };
const auth = { authorization: `Bearer ${WORKER_TOKEN}` };

describe('GET /metrics', () => {
  it('exposes queue depth per queue and priority, job counters and workers in the Prometheus text format', async () => {
    const queue = `metrics-${Date.now()}`;
    for (const priority of [0, 1, 1, 2, 2, 2])
      expect((await api('POST', '/jobs', { payload: 'm', queue, priority }, client)).status).toBe(
        201,
      );
    const res = await api('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = res.body as string;
    const m = samples(text);
    expect(m.get(`queue_depth{queue="${queue}",priority="0"}`)).toBe(1);
    expect(m.get(`queue_depth{queue="${queue}",priority="1"}`)).toBe(2);
    expect(m.get(`queue_depth{queue="${queue}",priority="2"}`)).toBe(3);
    expect(m.get(`jobs_submitted_total{queue="${queue}"}`)).toBe(6);
    expect(m.get('jobs_in_status{status="queued"}')).toBeGreaterThanOrEqual(6);
    for (const status of ['succeeded', 'failed', 'cancelled'])
      expect(m.has(`job_total{status="${status}"}`)).toBe(true);
    expect(m.get(`queue_oldest_job_age_seconds{queue="${queue}"}`)).toBeGreaterThanOrEqual(0);
    for (const family of [
      'job_total counter',
      'jobs_dispatched_total counter',
      'jobs_retried_total counter',
      'workers_reaped_total counter',
      'workers_registered gauge',
      'workers_live gauge',
      'worker_heartbeat_age_seconds gauge',
      'worker_heartbeat_age_seconds_max gauge',
      'job_dispatch_latency_seconds histogram',
      'job_run_seconds histogram',
      'autoscale_recommendation gauge',
      'autoscale_desired_workers gauge',
    ])
      expect(text).toContain(`# TYPE ${family}`);
    // No live worker for this queue (MIN_WORKERS 1): the advice is to scale up.
    expect(m.get(`autoscale_recommendation{queue="${queue}",action="scale_up"}`)).toBe(1);
    expect(m.get(`autoscale_recommendation{queue="${queue}",action="hold"}`)).toBe(0);
    expect(m.get(`autoscale_desired_workers{queue="${queue}"}`)).toBe(1);
  });

  it('counts dispatches and retries, observes dispatch latency per priority, and shows each worker heartbeat age', async () => {
    const queue = `metrics-disp-${Date.now()}`;
    // Port 9 on loopback refuses connections: every dispatch fails and the job is retried.
    const reg = await api(
      'POST',
      '/workers/register',
      {
        id: 'metrics-node',
        url: 'http://127.0.0.1:9',
        capacity: 1,
        executors: ['native'],
        queues: [queue],
      },
      auth,
    );
    expect(reg.status).toBe(201);
    const job = (
      await api('POST', '/jobs', { payload: 'x', queue, priority: 0, max_retries: 1 }, client)
    ).body.job;
    await waitFor('the retry', async () =>
      (await api('GET', `/jobs/${job.id}`)).body.job.status === 'retrying' ? true : undefined,
    );
    const m = samples((await api('GET', '/metrics')).body);
    expect(m.get(`jobs_dispatched_total{queue="${queue}"}`)).toBe(1);
    expect(m.get(`jobs_retried_total{queue="${queue}"}`)).toBe(1);
    expect(m.get(`job_dispatch_latency_seconds_count{queue="${queue}",priority="0"}`)).toBe(1);
    expect(
      m.get(`job_dispatch_latency_seconds_bucket{queue="${queue}",priority="0",le="+Inf"}`),
    ).toBe(1);
    expect(m.get(`job_dispatch_latency_seconds_count{queue="${queue}",priority="1"}`)).toBe(0);
    expect(m.get('worker_heartbeat_age_seconds{worker="metrics-node"}')).toBeGreaterThanOrEqual(0);
    expect(m.get('worker_heartbeat_age_seconds_max')).toBeGreaterThanOrEqual(
      m.get('worker_heartbeat_age_seconds{worker="metrics-node"}')!,
    );
    expect(m.get('workers_registered')).toBeGreaterThanOrEqual(1);
    expect(m.get('worker_capacity{worker="metrics-node"}')).toBe(1);
    expect((await api('DELETE', '/workers/metrics-node', undefined, auth)).status).toBe(200);
  });
});

describe('GET /stats', () => {
  it('adds throughput over the last minute, wait times per priority and autoscaling advice', async () => {
    const queue = `stats-${Date.now()}`;
    expect((await api('POST', '/jobs', { payload: 's', queue }, client)).status).toBe(201);
    const res = await api('GET', '/stats');
    expect(res.status).toBe(200);
    const s = res.body;
    expect(s.queues).toContain(queue);
    expect(s.queue_depth).toBeGreaterThanOrEqual(1);
    expect(s.oldest_queued_age_sec).toBeGreaterThanOrEqual(0);
    expect(s.throughput).toMatchObject({ window_sec: 60 });
    expect(s.throughput.submitted).toBeGreaterThanOrEqual(1);
    expect(Object.keys(s.wait_by_priority).sort()).toEqual(['0', '1', '2']);
    expect(s.autoscale.action).toMatch(/^(scale_up|scale_down|hold)$/);
    expect(typeof s.autoscale.reason).toBe('string');
    expect(Date.parse(s.autoscale.since)).not.toBeNaN();
    expect(s.autoscale_by_queue[queue]).toMatchObject({
      action: 'scale_up',
      current_workers: 0,
      desired_workers: 1,
      queue_depth: 1,
    });
    expect(s.autoscale_by_queue[queue].reason).toMatch(/MIN_WORKERS/);
  });

  it('serves the last ten minutes of throughput and depth for the chart', async () => {
    const res = await api('GET', '/stats/history');
    expect(res.status).toBe(200);
    const h = res.body;
    expect(h.step).toBe(5);
    expect(h.finished).toHaveLength(120);
    expect(h.submitted).toHaveLength(120);
    expect(h.depth).toHaveLength(120);
    expect(h.depth[h.depth.length - 1]).toBeGreaterThanOrEqual(1);
    expect(h.submitted.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(h.start % 5).toBe(0);
  });
  it('counts what each queue object and the API spend: storage and D1 statements, requests by route', async () => {
    const queue = `costs-${Date.now()}`;
    for (let i = 0; i < 3; i++)
      expect((await api('POST', '/jobs', { payload: i, queue }, client)).status).toBe(201);
    // The object's D1 statements are its outbox's projection, written after the answer: wait for it.
    const m = await waitFor('the projection to be counted', async () => {
      const s = samples((await api('GET', '/metrics')).body as string);
      return (s.get(`scheduler_d1_statements_total{queue="${queue}"}`) ?? 0) > 0 ? s : undefined;
    });
    // Each submission writes its job row and its outbox row at least.
    expect(
      m.get(`scheduler_storage_statements_total{queue="${queue}",kind="write"}`),
    ).toBeGreaterThanOrEqual(6);
    expect(
      m.get(`scheduler_storage_statements_total{queue="${queue}",kind="read"}`),
    ).toBeGreaterThan(0);
    expect(m.get(`scheduler_outbound_requests_total{queue="${queue}"}`)).toBe(0);
    expect(
      m.get('api_requests_total{method="POST",route="/jobs",status="201"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(m.get('api_d1_statements_total')).toBeGreaterThan(0);
  });
});
