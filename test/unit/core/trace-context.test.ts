import { describe, expect, it } from 'vitest';
import { incomingTrace, newTraceContext, traceIdOf } from '../../../src/core/trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

describe('incomingTrace', () => {
  it('is absent without a header', () => {
    expect(incomingTrace(undefined, 'a=1')).toEqual({ kind: 'absent' });
  });

  it('joins a valid traceparent, keeping its flags', () => {
    expect(incomingTrace(VALID, undefined)).toEqual({
      kind: 'joined',
      context: { traceparent: VALID, tracestate: null },
    });
    expect(incomingTrace(`00-${TRACE}-${PARENT}-00`, undefined)).toMatchObject({
      context: { traceparent: `00-${TRACE}-${PARENT}-00` },
    });
  });

  it('reads a higher version for its first four fields and speaks version 00', () => {
    expect(incomingTrace(`cc-${TRACE}-${PARENT}-01-what-comes-next`, undefined)).toMatchObject({
      kind: 'joined',
      context: { traceparent: VALID },
    });
  });

  // The cases the W3C spec names as invalid (section 3.2.2 and its test suite).
  it.each([
    ['empty', ''],
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['version 00 with a trailing field', `${VALID}-extra`],
    ['short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['short parent id', `00-${TRACE}-${PARENT.slice(1)}-01`],
    ['flags of one digit', `00-${TRACE}-${PARENT}-1`],
    ['not hex', `00-${TRACE.replace('4', 'g')}-${PARENT}-01`],
    ['two headers joined', `${VALID}, ${VALID}`],
    ['wrong separators', `00_${TRACE}_${PARENT}_01`],
  ])('discards %s, and then reads no tracestate', (_name, header) => {
    const got = incomingTrace(header, 'vendor=1');
    expect(got.kind).toBe('discarded');
  });

  it('keeps the valid tracestate members and drops the others', () => {
    expect(incomingTrace(VALID, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toMatchObject({
      context: { tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
    });
    expect(incomingTrace(VALID, 'Bad Key=1,ok=2')).toMatchObject({
      context: { tracestate: 'ok=2' },
    });
    expect(incomingTrace(VALID, 'nonsense')).toMatchObject({ context: { tracestate: null } });
  });

  it('caps tracestate at 32 members', () => {
    const members = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',');
    const got = incomingTrace(VALID, members);
    expect(got.kind === 'joined' && got.context.tracestate?.split(',')).toHaveLength(32);
  });
});

describe('newTraceContext', () => {
  it('draws a sampled version-00 traceparent that the parser accepts', () => {
    const ctx = newTraceContext();
    expect(ctx.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(ctx.tracestate).toBeNull();
    expect(incomingTrace(ctx.traceparent, undefined)).toMatchObject({ kind: 'joined' });
    expect(traceIdOf(newTraceContext().traceparent)).not.toBe(traceIdOf(ctx.traceparent));
  });

  it('draws again rather than use an all-zero id', () => {
    let calls = 0;
    const ctx = newTraceContext((bytes) => {
      calls++;
      // The first draw of each id is zeros; the second is 0x11 bytes.
      if (calls % 2 === 0) bytes.fill(0x11);
      return bytes;
    });
    expect(ctx.traceparent).toBe(`00-${'11'.repeat(16)}-${'11'.repeat(8)}-01`);
    expect(calls).toBe(4);
  });
});

describe('traceIdOf', () => {
  it('is the second field', () => {
    expect(traceIdOf(VALID)).toBe(TRACE);
  });
});
