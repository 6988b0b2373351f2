/** The API's advice as `cloud autoscale` reads it (cli/autoscale/advice.ts), from /stats and from events. */
import { describe, expect, it } from 'vitest';
import { adviceFor, fromEvent, fromStats, toRecommendation } from '../../../cli/autoscale/advice';
import type { Recommendation } from '../../../src/core/autoscale';

const rec = (current: number, desired: number, reason = 'why'): Recommendation => ({
  action: desired > current ? 'scale_up' : desired < current ? 'scale_down' : 'hold',
  reason,
  current_workers: current,
  desired_workers: desired,
  queue_depth: 0,
  trend_per_min: null,
  since: 0,
});

describe('adviceFor: several queues, the API rule', () => {
  const at = (entries: Array<[string, Recommendation, number]>) =>
    new Map(entries.map(([q, r, observedAt]) => [q, { rec: r, observedAt }]));

  it.each([
    ['no served queue has advice yet: none', [['other', rec(1, 2), 5]], null],
    [
      'one queue up, one down: up, dated by the queue that asks',
      [
        ['default', rec(2, 3), 10],
        ['batch', rec(2, 1), 7],
      ],
      { action: 'scale_up', current: 2, desired: 3, queue: 'default', observedAt: 10 },
    ],
    [
      'every queue down: down, as old as the oldest',
      [
        ['default', rec(3, 2), 10],
        ['batch', rec(3, 2), 7],
      ],
      { action: 'scale_down', current: 3, desired: 2, observedAt: 7 },
    ],
    [
      'one down, one holding: hold',
      [
        ['default', rec(3, 2), 10],
        ['batch', rec(3, 3), 10],
      ],
      { action: 'hold', current: 3, desired: 3, queue: 'batch' },
    ],
    [
      'a queue this machine does not serve is ignored',
      [
        ['default', rec(2, 2), 10],
        ['other', rec(2, 5), 10],
      ],
      { action: 'hold', desired: 2, queue: 'default' },
    ],
  ] as const)('%s', (_, entries, expected) => {
    const a = adviceFor(at(entries as unknown as Array<[string, Recommendation, number]>), [
      'default',
      'batch',
    ]);
    if (expected === null) expect(a).toBeNull();
    else expect(a).toMatchObject(expected);
  });

  it('the reason names the queue it comes from', () => {
    const a = adviceFor(
      at([['default', rec(1, 2, 'queue depth 30')]].map(([q, r]) => [q, r, 1]) as never),
      ['default'],
    );
    expect(a?.reason).toBe('default: queue depth 30');
  });
});

describe('reading the wire', () => {
  it('takes autoscale_by_queue from GET /stats, ISO since included', () => {
    const m = fromStats({
      autoscale: { action: 'hold' },
      autoscale_by_queue: {
        default: { ...rec(1, 2), since: '2025-01-01T00:00:00.000Z' },
        broken: { action: 'explode', current_workers: 1, desired_workers: 2 },
      },
    });
    expect([...m.keys()]).toEqual(['default']);
    expect(m.get('default')).toMatchObject({ desired_workers: 2, since: Date.parse('2025-01-01') });
  });

  it('a /stats answer without advice (an API key sees no telemetry) gives none', () => {
    expect(fromStats({ queue_depth: 3 }).size).toBe(0);
    expect(fromStats(null).size).toBe(0);
  });

  it.each([
    ['a scale event', { queue: 'default', ...rec(1, 2) }, true],
    ['no queue', { ...rec(1, 2) }, false],
    ['negative workers', { queue: 'q', ...rec(1, 2), desired_workers: -1 }, false],
    ['fractional workers', { queue: 'q', ...rec(1, 2), current_workers: 1.5 }, false],
    ['unknown action', { queue: 'q', ...rec(1, 2), action: 'panic' }, false],
    ['not an object', 'scale_up', false],
  ])('webhook event: %s', (_, body, ok) => {
    expect(fromEvent(body) !== null).toBe(ok);
  });

  it('missing optional fields get safe values', () => {
    expect(toRecommendation({ action: 'hold', current_workers: 1, desired_workers: 1 })).toEqual({
      action: 'hold',
      reason: '',
      current_workers: 1,
      desired_workers: 1,
      queue_depth: 0,
      trend_per_min: null,
      since: 0,
    });
  });
});
