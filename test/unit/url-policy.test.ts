import { describe, expect, it } from 'vitest';
import {
  checkOutboundAddress,
  checkOutboundUrl,
  isValidAllowlistEntry,
} from '../../src/core/url-policy';

const open = { allowPrivate: false };

describe('checkOutboundUrl without an allowlist', () => {
  // [url, allowed] — one row per rule, including the encodings people use to sneak past naive checks.
  const cases: Array<[string, boolean]> = [
    ['https://example.com/hook', true],
    ['http://example.com:8080/x?y=1', true],
    ['http://8.8.8.8/', true],
    ['http://[2001:4860:4860::8888]/', true],
    ['ftp://example.com/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['not a url', false],
    ['http://user:pass@example.com/', false],
    ['http://user@example.com/', false],
    ['http://localhost:9090/', false],
    ['http://LOCALHOST./', false],
    ['http://api.localhost/', false],
    ['http://metadata.google.internal/computeMetadata/v1/', false],
    ['http://127.0.0.1/', false],
    ['http://127.1.2.3/', false],
    ['http://0x7f.1/', false], // WHATWG parses hex/short forms to 127.0.0.1
    ['http://2130706433/', false], // integer form of 127.0.0.1
    ['http://0177.0.0.1/', false], // octal
    ['http://0.0.0.0/', false],
    ['http://10.1.2.3/', false],
    ['http://172.16.0.1/', false],
    ['http://172.31.255.255/', false],
    ['http://172.32.0.1/', true],
    ['http://192.168.1.1/', false],
    ['http://100.64.0.1/', false],
    ['http://100.128.0.1/', true],
    ['http://169.254.169.254/latest/meta-data/', false],
    ['http://224.0.0.1/', false],
    ['http://255.255.255.255/', false],
    ['http://[::1]/', false],
    ['http://[::]/', false],
    ['http://[fe80::1]/', false],
    ['http://[fc00::1]/', false],
    ['http://[fd12:3456::1]/', false],
    ['http://[::ffff:127.0.0.1]/', false],
    ['http://[::ffff:7f00:1]/', false],
    ['http://[::ffff:169.254.169.254]/', false],
    ['http://[::ffff:8.8.8.8]/', true],
    ['http://[64:ff9b::10.0.0.1]/', false],
    ['http://[ff02::1]/', false],
  ];
  it.each(cases)('%s -> allowed=%s', (url, allowed) => {
    const check = checkOutboundUrl(url, open);
    expect(check.ok, check.ok ? 'allowed' : check.reason).toBe(allowed);
  });

  it('says why it refused', () => {
    expect(checkOutboundUrl('http://10.0.0.1/', open)).toEqual({
      ok: false,
      reason: expect.stringContaining('10.0.0.1'),
    });
    expect(checkOutboundUrl('gopher://x/', open)).toEqual({
      ok: false,
      reason: expect.stringContaining('gopher'),
    });
  });

  it('returns the parsed URL when allowed', () => {
    const check = checkOutboundUrl('https://Example.com/a', open);
    expect(check.ok && check.url.hostname).toBe('example.com');
  });

  it('allowPrivate lets local destinations through but keeps scheme and credential rules', () => {
    const local = { allowPrivate: true };
    expect(checkOutboundUrl('http://127.0.0.1:9090/', local).ok).toBe(true);
    expect(checkOutboundUrl('http://localhost/', local).ok).toBe(true);
    expect(checkOutboundUrl('http://a:b@127.0.0.1/', local).ok).toBe(false);
    expect(checkOutboundUrl('ws://127.0.0.1/', local).ok).toBe(false);
  });
});

describe('checkOutboundUrl with an allowlist', () => {
  const allowlist = [
    'hooks.example.com',
    '*.internal.example',
    '10.0.0.0/8',
    '2001:db8::/32',
    '127.0.0.1',
  ];
  const cases: Array<[string, boolean]> = [
    ['https://hooks.example.com/', true],
    ['https://HOOKS.example.com./', true],
    ['https://other.example.com/', false],
    ['https://a.internal.example/', true],
    ['https://a.b.internal.example/', true],
    ['https://internal.example/', false],
    ['http://10.9.8.7/', true], // listed explicitly, so private is fine
    ['http://11.0.0.1/', false],
    ['http://[2001:db8::5]/', true],
    ['http://[2001:db9::5]/', false],
    ['http://127.0.0.1:9090/', true],
    ['http://127.0.0.2/', false],
    ['http://localhost/', false],
    ['http://8.8.8.8/', false],
    ['http://u:p@hooks.example.com/', false],
  ];
  it.each(cases)('%s -> allowed=%s', (url, allowed) => {
    expect(checkOutboundUrl(url, { allowlist, allowPrivate: false }).ok).toBe(allowed);
  });

  it('an empty allowlist means no allowlist', () => {
    expect(
      checkOutboundUrl('https://example.com/', { allowlist: [], allowPrivate: false }).ok,
    ).toBe(true);
    expect(checkOutboundUrl('http://10.0.0.1/', { allowlist: [], allowPrivate: false }).ok).toBe(
      false,
    );
  });
});

describe('checkOutboundAddress (connect time)', () => {
  const cases: Array<[string, boolean]> = [
    ['93.184.216.34', true],
    ['127.0.0.1', false],
    ['10.0.0.8', false],
    ['169.254.169.254', false],
    ['::1', false],
    ['::ffff:192.168.0.1', false],
    ['2606:2800:220:1::1', true],
    ['garbage', false],
  ];
  it.each(cases)('%s -> allowed=%s', (ip, allowed) => {
    expect(checkOutboundAddress(ip, open).ok).toBe(allowed);
  });

  it('trusts the allowlist and allowPrivate', () => {
    expect(checkOutboundAddress('127.0.0.1', { allowPrivate: true }).ok).toBe(true);
    expect(
      checkOutboundAddress('10.0.0.1', { allowlist: ['internal.example'], allowPrivate: false }).ok,
    ).toBe(true);
  });
});

describe('isValidAllowlistEntry', () => {
  it.each([
    ['example.com', true],
    ['*.example.com', true],
    ['10.0.0.0/8', true],
    ['::1', true],
    ['[::1]', true],
    ['fd00::/8', true],
    ['10.0.0.0/33', false],
    ['10.0.0/8', false],
    ['exa mple.com', false],
    ['http://example.com', false],
    ['', false],
  ])('%s -> %s', (entry, valid) => {
    expect(isValidAllowlistEntry(entry)).toBe(valid);
  });
});
