import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressPolicy,
  isLocalhostName,
  parseCidr,
  parseCidrList,
  parseIp,
} from '../../src/core/address-policy.js';
import { ConfigError, resolveConfig } from '../../src/server/config.js';

const policy = new AddressPolicy();

describe('address policy: globally routable or not', () => {
  const refused: [string, RegExp][] = [
    ['0.0.0.0', /unspecified/],
    ['0.255.255.255', /unspecified/],
    ['10.0.0.1', /private/],
    ['10.255.255.255', /private/],
    ['100.64.0.0', /CGNAT/],
    ['100.127.255.255', /CGNAT/],
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['169.254.169.254', /link-local/],
    ['172.16.0.0', /private/],
    ['172.31.255.255', /private/],
    ['192.0.0.8', /IETF/],
    ['192.0.2.55', /documentation/],
    ['192.88.99.1', /6to4 relay/],
    ['192.168.0.1', /private/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['198.51.100.1', /documentation/],
    ['203.0.113.1', /documentation/],
    ['224.0.0.251', /multicast/],
    ['239.255.255.255', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /broadcast/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['0:0:0:0:0:0:0:1', /loopback/],
    ['::ffff:127.0.0.1', /IPv4-mapped form of 127\.0\.0\.1: loopback/],
    ['::ffff:7f00:1', /IPv4-mapped form of 127\.0\.0\.1/],
    ['::FFFF:A9FE:A9FE', /IPv4-mapped form of 169\.254\.169\.254/],
    ['::127.0.0.1', /IPv4-compatible/],
    ['::8.8.8.8', /IPv4-compatible/],
    ['::ffff:0:10.0.0.1', /IPv4-translated/],
    ['2002:7f00:1::', /6to4 form of 127\.0\.0\.1/],
    ['2002:0a00:0001::1', /6to4 form of 10\.0\.0\.1/],
    ['64:ff9b::127.0.0.1', /NAT64 form of 127\.0\.0\.1/],
    ['64:ff9b::c0a8:1', /NAT64 form of 192\.168\.0\.1/],
    ['64:ff9b:1::8.8.8.8', /local-use NAT64/],
    ['100::1', /discard/],
    ['2001::1', /IETF protocol/],
    ['2001:1ff::1', /IETF protocol/],
    ['2001:db8::1', /documentation/],
    ['3fff::1', /documentation/],
    ['5f00::1', /SRv6/],
    ['fc00::1', /unique-local/],
    ['fdff:ffff::1', /unique-local/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['febf:ffff::1', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['4000::1', /outside global unicast/],
    ['not-an-ip', /not a valid IP/],
    ['127.1', /not a valid IP/],
    ['0177.0.0.1', /not a valid IP/],
  ];
  it.each(refused)('refuses %s', (address, reason) => {
    expect(policy.problem(address)).toMatch(reason);
  });

  const accepted = [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '2001:200::1',
    '2001:4860:4860::8888',
    '::ffff:1.1.1.1',
    '::ffff:808:808',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
    '2620:4f:8000::1',
  ];
  it.each(accepted)('accepts %s', (address) => {
    expect(policy.problem(address)).toBeNull();
  });
});

describe('address parsing', () => {
  it('parses every IPv6 spelling of one address to the same bytes', () => {
    const forms = ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '0::FFFF:7F00:0001'];
    const bytes = forms.map((f) => Array.from(parseIp(f)?.bytes ?? []));
    for (const b of bytes) expect(b).toEqual(bytes[0]);
  });

  it('refuses malformed text', () => {
    for (const text of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      ':::',
      '12345::',
      'g::1',
    ]) {
      expect(parseIp(text), text).toBeNull();
    }
  });

  it('agrees with node:net isIP on random addresses and what it parses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        expect(parseIp(text) !== null).toBe(isIP(text) !== 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('judges an IPv4-mapped address like the IPv4 address itself', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(policy.problem(`::ffff:${v4}`) === null).toBe(policy.problem(v4) === null);
        expect(policy.problem(`64:ff9b::${v4}`) === null).toBe(policy.problem(v4) === null);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats localhost names as loopback', () => {
    for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'a.b.localhost.']) {
      expect(isLocalhostName(h), h).toBe(true);
    }
    for (const h of ['localhost.example', 'notlocalhost', 'example.com'])
      expect(isLocalhostName(h), h).toBe(false);
  });
});

describe('allow-list', () => {
  it('accepts listed non-global blocks, mapped forms included, and nothing else', () => {
    const allowing = new AddressPolicy(parseCidrList('10.1.0.0/16, fd00::/8,192.168.7.7'));
    expect(allowing.problem('10.1.2.3')).toBeNull();
    expect(allowing.problem('::ffff:10.1.2.3')).toBeNull();
    expect(allowing.problem('fd12::1')).toBeNull();
    expect(allowing.problem('192.168.7.7')).toBeNull();
    expect(allowing.problem('192.168.7.8')).toMatch(/private/);
    expect(allowing.problem('10.2.0.1')).toMatch(/private/);
    expect(allowing.problem('fc00::1')).toMatch(/unique-local/);
    expect(allowing.problem('127.0.0.1')).toMatch(/loopback/);
    expect(allowing.problem('1.1.1.1')).toBeNull();
  });

  it('parses CIDRs strictly', () => {
    expect(parseCidr('10.1.0.0/16')).toMatchObject({ family: 4, prefix: 16 });
    expect(parseCidr('::1')).toMatchObject({ family: 6, prefix: 128 });
    expect(parseCidr('[fd00::]/8')).toMatchObject({ family: 6, prefix: 8 });
    expect(parseCidrList('')).toEqual([]);
    expect(() => parseCidr('10.1.2.3/16')).toThrow(/bits are set beyond the \/16/);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/0\.\.32/);
    expect(() => parseCidr('fd00::/129')).toThrow(/0\.\.128/);
    expect(() => parseCidr('example.com/8')).toThrow(/not an IP address/);
    expect(() => parseCidr('10.0.0.0/')).toThrow(/prefix length/);
  });

  it('is read from HOOKLINE_ALLOW_ADDRESSES, a mistake being a ConfigError naming the variable', () => {
    const ok = resolveConfig({}, { HOOKLINE_ALLOW_ADDRESSES: '10.1.0.0/16,fd00::/8' });
    expect(ok.allowAddresses.map((c) => c.text)).toEqual(['10.1.0.0/16', 'fd00::/8']);
    expect(resolveConfig({}, {}).allowAddresses).toEqual([]);
    for (const bad of ['10.1.0.0/16,nope', '10.1.2.0/16', '300.0.0.0/8']) {
      expect(() => resolveConfig({}, { HOOKLINE_ALLOW_ADDRESSES: bad })).toThrow(ConfigError);
      expect(() => resolveConfig({}, { HOOKLINE_ALLOW_ADDRESSES: bad })).toThrow(/HOOKLINE_ALLOW_ADDRESSES/);
    }
  });
});
