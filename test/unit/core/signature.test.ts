import { describe, expect, it } from 'vitest';
import { sign, verify } from '../../../src/core/signature';

describe('request signatures', () => {
  const body = JSON.stringify({ jobs: [{ job_id: 'default.X', attempt: 1 }] });
  const now = 1_800_000_000_000;

  it('accepts a fresh signature and refuses tampering, staleness and the wrong key', async () => {
    const sig = await sign('secret-1', now, body);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(await verify(['secret-1'], String(now), sig, body, now + 1000)).toEqual({ ok: true });
    expect(await verify(['secret-1'], String(now), sig, body.replace('1}', '2}'), now)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(await verify(['secret-1'], String(now + 1), sig, body, now)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(await verify(['secret-1'], String(now), sig, body, now + 5 * 60 * 1000 + 1)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(await verify(['secret-1'], String(now + 6 * 60 * 1000), sig, body, now)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(await verify(['other'], String(now), sig, body, now)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(await verify(['secret-1'], null, sig, body, now)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(await verify(['secret-1'], String(now), 'v1=zz', body, now)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(await verify(['secret-1'], 'yesterday', sig, body, now)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('accepts either key while one is rotated', async () => {
    const sig = await sign('next-key', now, body);
    expect(await verify(['current-key', 'next-key'], String(now), sig, body, now)).toEqual({
      ok: true,
    });
  });
});
