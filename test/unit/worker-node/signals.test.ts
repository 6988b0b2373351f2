import { describe, expect, it } from 'vitest';
import { SignalCounter, SIGNAL_COALESCE_MS } from '../../../worker-node/src/signals';

/** The meanings of signals arriving at these times (ms), in order. */
const meanings = (times: number[]) => {
  const counter = new SignalCounter();
  return times.map((t) => counter.classify(t));
};

describe('signal counter', () => {
  it.each([
    // A group signal relayed by npm and tsx: one drain (issue 12, item 5).
    [
      [0, 3, 40],
      ['drain', 'duplicate', 'duplicate'],
    ],
    [
      [0, SIGNAL_COALESCE_MS - 1],
      ['drain', 'duplicate'],
    ],
    // A person pressing Ctrl-C again: forced; and the relays of that one are duplicates too.
    [
      [0, 2_000, 2_030],
      ['drain', 'force', 'duplicate'],
    ],
    [
      [0, SIGNAL_COALESCE_MS],
      ['drain', 'force'],
    ],
    [
      [0, 2_000, 4_000],
      ['drain', 'force', 'abort'],
    ],
  ])('%j -> %j', (times, want) => {
    expect(meanings(times)).toEqual(want);
  });

  it('counts from the last signal it counted, not from the last it saw', () => {
    // A stream of relays never adds up to a deliberate second signal within the window.
    expect(meanings([0, 600, 1_200])).toEqual(['drain', 'duplicate', 'force']);
  });
});
