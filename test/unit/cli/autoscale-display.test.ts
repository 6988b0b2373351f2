/** The live screen of `cloud autoscale` on a terminal (cli/autoscale/display.ts). */
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../../cli/autoscale/config';
import { initialState, type NodeState } from '../../../cli/autoscale/decide';
import { compactLine, redraw, renderScreen } from '../../../cli/autoscale/display';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const config = buildConfig(
  {
    min: 1,
    max: 3,
    scaleDownStable: 2,
    interval: 1,
    queues: 'default',
    mode: 'push',
    portBase: 9100,
    endpointHost: 'localhost',
    startTimeout: 60,
    drainTimeout: 90,
  },
  {},
  { cpus: 4, host: 'box' },
);
const node = (slot: number, o: Partial<NodeState>): NodeState => ({
  slot,
  id: `box-auto-${slot}`,
  status: 'ready',
  startedAt: NOW - 65_000,
  readyAt: NOW - 60_000,
  crashes: 0,
  restartAt: null,
  ...o,
});

describe('renderScreen', () => {
  it('shows the source, the advice, every node and the last actions', () => {
    const screen = renderScreen({
      state: {
        ...initialState(NOW),
        nodes: [
          node(1, {}),
          node(2, { status: 'waiting_restart', crashes: 2, restartAt: NOW + 2_000 }),
          node(3, { status: 'draining' }),
        ],
        advice: {
          action: 'scale_down',
          current: 3,
          desired: 2,
          reason: 'queue depth below QUEUE_THRESHOLD_LOW (1) for 2s',
          queue: 'default',
          observedAt: NOW - 500,
        },
        lowSince: NOW - 1_000,
      },
      config,
      apiUrl: 'http://api',
      pids: new Map([
        [1, 101],
        [3, 103],
      ]),
      recent: [{ event: 'scale_down', ts: '2025-01-01T11:59:59.000Z', node: 'box-auto-3' }],
      now: NOW,
      problem: null,
    });
    expect(screen).toContain('polling http://api/stats every 1s; queues default; push nodes');
    expect(screen).toContain('nodes: 2 (MIN_WORKERS 1, max here 3)');
    expect(screen).toContain('advice: scale_down 3 → 2 (default), 500ms ago');
    expect(screen).toContain('fewer nodes wanted for 1.0s of 2.0s');
    const rows = screen.split('\n').filter((l) => l.startsWith('box-auto-'));
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual([
      ['box-auto-1', '101', 'ready', '1m 05s', '0', '9100'],
      ['box-auto-2', '-', 'restart in 2.0s', '-', '2', '9101'],
      ['box-auto-3', '103', 'draining', '1m 05s', '0', '9102'],
    ]);
    expect(screen).toContain('  11:59:59 scale_down node=box-auto-3');
  });

  it('before any advice, and with the API out of reach', () => {
    const screen = renderScreen({
      state: initialState(NOW),
      config,
      apiUrl: 'http://api',
      pids: new Map(),
      recent: [],
      now: NOW,
      problem: 'cannot reach the API at http://api: ECONNREFUSED',
    });
    expect(screen).toContain('advice: none yet');
    expect(screen).toContain('API: cannot reach the API at http://api: ECONNREFUSED');
    expect(screen).toContain('no nodes');
  });

  it('redraw starts from the top of a cleared screen', () => {
    expect(redraw('x')).toBe('\x1b[H\x1b[2Jx');
  });

  it('compactLine: time, event, then the fields', () => {
    expect(
      compactLine({
        event: 'restart',
        ts: '2025-01-01T10:00:01.123Z',
        node: 'n-1',
        crashes: 1,
        x: null,
      }),
    ).toBe('10:00:01 restart node=n-1 crashes=1');
  });
});
