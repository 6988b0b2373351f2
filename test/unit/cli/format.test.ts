import { describe, expect, it } from 'vitest';
import { ago, formatDuration, renderFields, renderTable } from '../../../cli/format';

describe('renderTable', () => {
  it('aligns columns, right-aligns numbers, cuts long cells and leaves no trailing blanks', () => {
    const rows = [
      { id: 'a', n: 1, note: 'short' },
      { id: 'bbbb', n: 100, note: 'a note that is far too long' },
    ];
    const out = renderTable(
      [
        { header: 'ID', value: (r) => r.id },
        { header: 'N', value: (r) => String(r.n), align: 'right' },
        { header: 'NOTE', value: (r) => r.note, max: 10 },
      ],
      rows,
    );
    expect(out).toBe(
      ['ID      N  NOTE', 'a       1  short', 'bbbb  100  a note th…', ''].join('\n'),
    );
  });

  it('keeps one row on one line', () => {
    expect(renderTable([{ header: 'X', value: (r: string) => r }], ['two\nlines'])).toBe(
      'X\ntwo lines\n',
    );
  });
});

describe('renderFields', () => {
  it('aligns keys and leaves out undefined values', () => {
    expect(
      renderFields([
        ['id', 'x'],
        ['worker', undefined],
        ['attempts', '1 of 4'],
      ]),
    ).toBe('id:       x\nattempts: 1 of 4\n');
  });
});

describe('durations', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [4200, '4.2s'],
    [185_000, '3m 05s'],
    [7_440_000, '2h 04m'],
    [266_400_000, '3d 02h'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('says how long ago, or how far ahead, a moment is', () => {
    const now = Date.parse('2025-01-01T00:01:00Z');
    expect(ago('2025-01-01T00:00:30Z', now)).toBe('30.0s ago');
    expect(ago('2025-01-01T00:04:00Z', now)).toBe('in 3m 00s');
    expect(ago(null, now)).toBe('-');
  });
});
