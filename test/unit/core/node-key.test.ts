import { describe, expect, it } from 'vitest';
import { newKey, parseKey, sha256Hex } from '../../../src/core/api-key';
import {
  bindingsOverlap,
  mayActAs,
  parseNodeKey,
  scopeProblems,
  type NodeKeyBinding,
} from '../../../src/core/node-key';

const node = (id: string): NodeKeyBinding => ({ nodeId: id, nodePrefix: null });
const pool = (prefix: string): NodeKeyBinding => ({ nodeId: null, nodePrefix: prefix });

describe('node keys', () => {
  it('have the API keys’ shape with nk_, and neither parses as the other', async () => {
    const k = await newKey('nk');
    expect(k.key).toMatch(/^nk_[a-z2-9]{12}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseNodeKey(k.key)!;
    expect(parsed.id).toBe(k.id);
    expect(await sha256Hex(parsed.secret)).toBe(k.secretHash);
    expect(parseKey('ck', k.key)).toBeNull();
    expect(parseNodeKey((await newKey('ck')).key)).toBeNull();
    expect(parseNodeKey('nk_short')).toBeNull();
  });

  it('act as their one node, or as any id of their pool', () => {
    expect(mayActAs(node('n-1'), 'n-1')).toBe(true);
    expect(mayActAs(node('n-1'), 'n-10')).toBe(false);
    expect(mayActAs(pool('gpu-'), 'gpu-7')).toBe(true);
    expect(mayActAs(pool('gpu-'), 'cpu-7')).toBe(false);
  });

  it('overlap when one id could be claimed by two bindings, except the same binding (a rotation)', () => {
    const cases: [NodeKeyBinding, NodeKeyBinding, boolean][] = [
      [node('a'), node('a'), false],
      [node('a'), node('b'), false],
      [pool('gpu-'), pool('gpu-'), false],
      [pool('gpu-'), pool('gpu-a'), true],
      [pool('gpu-a'), pool('gpu-'), true],
      [pool('gpu-'), pool('cpu-'), false],
      [node('gpu-1'), pool('gpu-'), true],
      [pool('gpu-'), node('gpu-1'), true],
      [node('cpu-1'), pool('gpu-'), false],
    ];
    for (const [a, b, want] of cases)
      expect(bindingsOverlap(a, b), JSON.stringify([a, b])).toBe(want);
  });

  it('name each queue and label outside the scope', () => {
    const scope = { queues: ['default', 'gpu'], labels: { gpu: 'a100', zone: '*' } };
    expect(scopeProblems(scope, { queues: ['gpu'], labels: { gpu: 'a100', zone: 'eu' } })).toEqual(
      [],
    );
    expect(
      scopeProblems(scope, { queues: ['gpu', 'billing'], labels: { gpu: 'h100', owner: 'x' } }),
    ).toEqual([
      { field: 'queues.1', message: expect.stringContaining('billing') },
      { field: 'labels.gpu', message: expect.stringContaining('"a100"') },
      { field: 'labels.owner', message: expect.stringContaining('not in') },
    ]);
    // No labels in the scope: any labels; an empty set: none.
    expect(
      scopeProblems({ queues: ['q'], labels: null }, { queues: ['q'], labels: { a: 'b' } }),
    ).toEqual([]);
    expect(
      scopeProblems({ queues: ['q'], labels: {} }, { queues: ['q'], labels: { a: 'b' } }),
    ).toHaveLength(1);
    // An inherited name is not a label the scope allows.
    expect(
      scopeProblems({ queues: ['q'], labels: {} }, { queues: ['q'], labels: { constructor: 'x' } }),
    ).toHaveLength(1);
  });
});
