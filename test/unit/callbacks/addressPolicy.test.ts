import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, isAddressAllowed, parseIpAddress } from '../../../shared/callbacks';

describe('callback address policy', () => {
  it('parses IPv4, IPv6, embedded IPv4, brackets and zone ids to bytes', () => {
    assert.deepEqual([...parseIpAddress('10.1.2.3')!], [10, 1, 2, 3]);
    assert.deepEqual([...parseIpAddress('::1')!], [...new Array(15).fill(0), 1]);
    assert.deepEqual([...parseIpAddress('[fe80::1%eth0]')!], [0xfe, 0x80, ...new Array(13).fill(0), 1]);
    assert.deepEqual([...parseIpAddress('::ffff:127.0.0.1')!], [...new Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]);
    assert.deepEqual(
      [...parseIpAddress('2001:db8:0:1:2:3:4:5')!],
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5],
    );
    assert.equal(parseIpAddress('example.com'), undefined);
    assert.equal(parseIpAddress('256.1.1.1'), undefined);
  });

  const table: Array<[string, string | undefined]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['169.254.169.254', 'metadata'],
    ['169.254.10.1', 'link-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fc00::1', 'unique-local'],
    ['fdff:ffff::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::c0a8:101', 'private'], // NAT64 of 192.168.1.1
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['::7f00:1', 'reserved'], // IPv4-compatible, deprecated
    ['not an ip', 'reserved'],
    // Ordinary public unicast.
    ['93.184.216.34', undefined],
    ['172.32.0.1', undefined],
    ['11.0.0.1', undefined],
    ['2606:2800:220:1:248:1893:25c8:1946', undefined],
    ['::ffff:93.184.216.34', undefined],
    ['2001:4860:4860::8888', undefined],
  ];
  for (const [address, expected] of table) {
    it(`classifies ${address} as ${expected ?? 'public'}`, () => {
      assert.equal(classifyAddress(address), expected);
    });
  }

  it('lets allowPrivate open private ranges but never metadata, unspecified or multicast', () => {
    assert.equal(isAddressAllowed('127.0.0.1', false), false);
    assert.equal(isAddressAllowed('127.0.0.1', true), true);
    assert.equal(isAddressAllowed('10.0.0.1', true), true);
    assert.equal(isAddressAllowed('fc00::1', true), true);
    assert.equal(isAddressAllowed('169.254.169.254', true), false);
    assert.equal(isAddressAllowed('0.0.0.0', true), false);
    assert.equal(isAddressAllowed('224.0.0.1', true), false);
    assert.equal(isAddressAllowed('93.184.216.34', false), true);
  });
});
