import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkCallbackUrl, classifyAddress, isAddressAllowed, METADATA_ADDRESSES } from '../../../shared/callbacks';

/** A resolver that must not be called: every URL below is an IP literal once WHATWG has parsed it. */
const noLookup = async (): Promise<never> => {
  throw new Error('looked up a literal');
};

/**
 * Spellings of one destination a client could put in callback_url. WHATWG URL parsing turns the
 * legacy IPv4 forms into dotted quads; the IPv6 forms reach the classifier as written.
 * [url, class, allowed with callback_allow_private]
 */
const ENCODINGS: ReadonlyArray<readonly [string, string, boolean]> = [
  // 127.0.0.1
  ['http://127.0.0.1/', 'loopback', true],
  ['http://2130706433/', 'loopback', true], // decimal
  ['http://0177.0.0.1/', 'loopback', true], // octal
  ['http://0x7f.0x0.0x0.0x1/', 'loopback', true], // hex per part
  ['http://0x7f000001/', 'loopback', true], // hex whole
  ['http://127.1/', 'loopback', true], // short form
  ['http://0x7f.1/', 'loopback', true], // short hex
  ['http://127.0.0.1./', 'loopback', true], // trailing dot
  ['http://%31%32%37.0.0.1/', 'loopback', true], // percent-encoded
  ['http://\uff10x7f.1/', 'loopback', true], // full-width digits
  ['http://[::1]/', 'loopback', true],
  ['http://[0:0:0:0:0:0:0:1]/', 'loopback', true],
  ['http://[::ffff:127.0.0.1]/', 'loopback', true], // IPv4-mapped
  ['http://[::ffff:7f00:1]/', 'loopback', true], // IPv4-mapped, hex
  ['http://[0:0:0:0:0:ffff:127.0.0.1]/', 'loopback', true],
  ['http://[::ffff:0:7f00:1]/', 'loopback', true], // IPv4-translated (RFC 6145)
  ['http://[::ffff:0:127.0.0.1]/', 'loopback', true],
  ['http://[64:ff9b::7f00:1]/', 'loopback', true], // NAT64
  ['http://[2002:7f00:1::]/', 'loopback', true], // 6to4
  ['http://[::7f00:1]/', 'reserved', false], // IPv4-compatible, deprecated
  // private IPv4 through the same encodings
  ['http://167772161/', 'private', true], // 10.0.0.1
  ['http://012.0.0.1/', 'private', true],
  ['http://0xc0.0xa8.1.1/', 'private', true],
  ['http://[::ffff:192.168.1.1]/', 'private', true],
  ['http://[::ffff:0:c0a8:101]/', 'private', true],
  ['http://[64:ff9b::10.0.0.1]/', 'private', true],
  ['http://[2002:ac10:1::1]/', 'private', true], // 6to4 of 172.16.0.1
  ['http://[fd12:3456::1]/', 'unique-local', true],
  ['http://[fe80::1]/', 'link-local', true],
  // metadata: never, whatever the spelling and whatever the policy
  ['http://169.254.169.254/', 'metadata', false],
  ['http://2852039166/', 'metadata', false], // decimal
  ['http://0251.0376.0251.0376/', 'metadata', false], // octal
  ['http://0xa9fea9fe/', 'metadata', false], // hex
  ['http://169.254.43518/', 'metadata', false], // short form
  ['http://[::ffff:169.254.169.254]/', 'metadata', false],
  ['http://[::ffff:a9fe:a9fe]/', 'metadata', false],
  ['http://[::ffff:0:a9fe:a9fe]/', 'metadata', false], // IPv4-translated
  ['http://[64:ff9b::a9fe:a9fe]/', 'metadata', false], // NAT64
  ['http://[2002:a9fe:a9fe::1]/', 'metadata', false], // 6to4
  ['http://[fd00:ec2::254]/', 'metadata', false],
  ['http://[fd00:ec2:0:0:0:0:0:254]/', 'metadata', false],
  ['http://169.254.170.2/', 'metadata', false], // ECS task credentials
  ['http://[::ffff:169.254.170.2]/', 'metadata', false],
  ['http://169.254.170.23/', 'metadata', false], // EKS Pod Identity
  ['http://[fd00:ec2::23]/', 'metadata', false],
  ['http://100.100.100.200/', 'metadata', false], // Alibaba
  ['http://1684301000/', 'metadata', false], // Alibaba, decimal
  ['http://192.0.0.192/', 'metadata', false], // Oracle
  ['http://[64:ff9b::c000:c0]/', 'metadata', false], // Oracle via NAT64
  // never allowed, not metadata
  ['http://0/', 'unspecified', false],
  ['http://0.0.0.0/', 'unspecified', false],
  ['http://[::]/', 'unspecified', false],
  ['http://[::ffff:0.0.0.0]/', 'unspecified', false],
  ['http://224.0.0.1/', 'multicast', false],
  ['http://[ff02::1]/', 'multicast', false],
  ['http://4294967295/', 'reserved', false], // 255.255.255.255
  ['http://[64:ff9b:1::a9fe:a9fe]/', 'reserved', false], // local-use NAT64: embedding is operator-defined
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'reserved', false], // Teredo
  ['http://[2001:db8::1]/', 'reserved', false], // documentation
];

/** Public destinations, including through the IPv6 forms that embed a public IPv4. */
const PUBLIC: readonly string[] = [
  'http://93.184.216.34/',
  'http://1572395042/', // 93.184.216.34, decimal
  'http://[::ffff:93.184.216.34]/',
  'http://[64:ff9b::5db8:d822]/',
  'http://[2002:5db8:d822::1]/',
  'http://[2606:4700:4700::1111]/',
  'http://100.100.100.199/', // next to Alibaba's metadata, but 100.64/10 shared
];

describe('callback address encodings', () => {
  for (const [url, cls, allowedWithPrivate] of ENCODINGS) {
    it(`${url} is ${cls}: refused by default${allowedWithPrivate ? ', allowed with allowPrivate' : ', refused even with allowPrivate'}`, async () => {
      const byDefault = await checkCallbackUrl(url, { lookup: noLookup });
      assert.equal(byDefault.ok, false);
      assert.match(!byDefault.ok ? byDefault.reason : '', new RegExp(` a ${cls} address`));
      const withPrivate = await checkCallbackUrl(url, { lookup: noLookup, allowPrivate: true });
      assert.equal(withPrivate.ok, allowedWithPrivate);
    });
  }

  it('accepts public destinations in every spelling', async () => {
    for (const url of PUBLIC.slice(0, -1)) {
      const result = await checkCallbackUrl(url, { lookup: noLookup });
      assert.equal(result.ok, true, url);
    }
    // 100.100.100.199 is carrier-grade NAT space: refused by default, allowed with the policy.
    assert.equal((await checkCallbackUrl(PUBLIC.at(-1)!, { lookup: noLookup })).ok, false);
    assert.equal((await checkCallbackUrl(PUBLIC.at(-1)!, { lookup: noLookup, allowPrivate: true })).ok, true);
  });

  it('refuses a host name resolving to a metadata address even with allowPrivate', async () => {
    const lookup = async () => [{ address: '169.254.170.2', family: 4 }];
    const result = await checkCallbackUrl('http://credentials.example/', { lookup, allowPrivate: true });
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /metadata/);
  });

  it('never allows any metadata address, in any form', () => {
    for (const address of METADATA_ADDRESSES) {
      assert.equal(classifyAddress(address), 'metadata', address);
      assert.equal(isAddressAllowed(address, true), false, address);
      if (!address.includes(':')) {
        assert.equal(isAddressAllowed(`::ffff:${address}`, true), false, `mapped ${address}`);
      }
    }
  });
});
