import { describe, expect, it } from 'vitest';
import { sign, signRequest, verify, verifyRequest } from '../../../src/core/signature';

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

describe('v2 request signatures: method, path, timestamp and body', () => {
  const now = 1_800_000_000_000;
  const req = { method: 'POST', path: '/workers/n-1/heartbeat', body: '{"running":[]}' };
  const check = (r: typeof req, sig: string, ts = now, at = now) =>
    verifyRequest(['k1'], r, String(ts), sig, at);

  it('verifies the request as signed, and refuses each part changed', async () => {
    const sig = await signRequest('k1', req, now);
    expect(sig).toMatch(/^v2=[0-9a-f]{64}$/);
    expect(await check(req, sig)).toEqual({ ok: true });
    for (const changed of [
      { ...req, method: 'DELETE' },
      { ...req, path: '/workers/n-2/heartbeat' },
      { ...req, path: '/workers/n-1/lease' },
      { ...req, body: '{"running":[] }' },
    ])
      expect(await check(changed, sig)).toEqual({ ok: false, reason: 'mismatch' });
    expect(await check(req, sig, now + 1)).toEqual({ ok: false, reason: 'mismatch' });
    expect(await check(req, sig, now, now + 5 * 60_000 + 1)).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it('is not interchangeable with a v1 signature over the same bytes', async () => {
    const v1 = await sign('k1', now, req.body);
    expect(await check(req, v1)).toEqual({ ok: false, reason: 'malformed' });
    const v2 = await signRequest('k1', req, now);
    expect(await verify(['k1'], String(now), v2, req.body, now)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('covers the raw bytes of a body given as bytes, the same as its text', async () => {
    const bytes = new TextEncoder().encode(req.body);
    const sig = await signRequest('k1', { ...req, body: bytes }, now);
    expect(await check(req, sig)).toEqual({ ok: true });
  });
});
