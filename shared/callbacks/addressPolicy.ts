import { isIP } from 'node:net';

/**
 * Kinds of address a callback must not reach by default. A callback URL is chosen by the
 * client, and the worker runs inside the AWS network with an IAM role: letting it POST to
 * internal addresses would turn every tenant into a port scanner of our VPC (SSRF).
 */
export const ADDRESS_CLASSES = {
  UNSPECIFIED: 'unspecified',
  LOOPBACK: 'loopback',
  PRIVATE: 'private',
  SHARED: 'shared',
  LINK_LOCAL: 'link-local',
  SITE_LOCAL: 'site-local',
  UNIQUE_LOCAL: 'unique-local',
  METADATA: 'metadata',
  MULTICAST: 'multicast',
  RESERVED: 'reserved',
} as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[keyof typeof ADDRESS_CLASSES];

/**
 * Classes a tenant may open up with `allowPrivate` (a receiver inside its own network, a local
 * test server). The rest are never a sensible destination: the unspecified address connects to
 * the local host on Linux, multicast and reserved ranges are not unicast hosts, and the cloud
 * metadata service hands out credentials.
 */
export const ALLOWABLE_CLASSES: ReadonlySet<AddressClass> = new Set<AddressClass>([
  ADDRESS_CLASSES.LOOPBACK,
  ADDRESS_CLASSES.PRIVATE,
  ADDRESS_CLASSES.SHARED,
  ADDRESS_CLASSES.LINK_LOCAL,
  ADDRESS_CLASSES.SITE_LOCAL,
  ADDRESS_CLASSES.UNIQUE_LOCAL,
]);

interface Range {
  readonly bytes: readonly number[];
  readonly prefix: number;
  readonly class: AddressClass;
}

const range = (address: string, prefix: number, cls: AddressClass): Range => ({
  bytes: [...parseIpAddress(address)!],
  prefix,
  class: cls,
});

/** First match wins, so the narrow ranges (metadata) come before the ones containing them. */
const IPV4_RANGES: readonly Range[] = [
  range('169.254.169.254', 32, ADDRESS_CLASSES.METADATA),
  range('0.0.0.0', 8, ADDRESS_CLASSES.UNSPECIFIED), // "this network"; 0.0.0.0 reaches localhost
  range('10.0.0.0', 8, ADDRESS_CLASSES.PRIVATE),
  range('100.64.0.0', 10, ADDRESS_CLASSES.SHARED), // carrier-grade NAT
  range('127.0.0.0', 8, ADDRESS_CLASSES.LOOPBACK),
  range('169.254.0.0', 16, ADDRESS_CLASSES.LINK_LOCAL),
  range('172.16.0.0', 12, ADDRESS_CLASSES.PRIVATE),
  range('192.0.0.0', 24, ADDRESS_CLASSES.RESERVED), // IETF protocol assignments
  range('192.168.0.0', 16, ADDRESS_CLASSES.PRIVATE),
  range('198.18.0.0', 15, ADDRESS_CLASSES.RESERVED), // benchmarking
  range('224.0.0.0', 4, ADDRESS_CLASSES.MULTICAST),
  range('240.0.0.0', 4, ADDRESS_CLASSES.RESERVED), // includes 255.255.255.255
];

const IPV6_RANGES: readonly Range[] = [
  range('::', 128, ADDRESS_CLASSES.UNSPECIFIED),
  range('::1', 128, ADDRESS_CLASSES.LOOPBACK),
  range('fd00:ec2::254', 128, ADDRESS_CLASSES.METADATA), // EC2's IPv6 metadata endpoint
  range('::', 96, ADDRESS_CLASSES.RESERVED), // IPv4-compatible, deprecated (RFC 4291)
  range('fc00::', 7, ADDRESS_CLASSES.UNIQUE_LOCAL),
  range('fe80::', 10, ADDRESS_CLASSES.LINK_LOCAL),
  range('fec0::', 10, ADDRESS_CLASSES.SITE_LOCAL),
  range('ff00::', 8, ADDRESS_CLASSES.MULTICAST),
];

/**
 * IPv6 forms that carry an IPv4 address the packet may end up at; the IPv4 address decides.
 * `::ffff:127.0.0.1` is loopback to a dual-stack socket, NAT64 and 6to4 gateways forward to
 * the embedded address.
 */
const EMBEDDED_IPV4: ReadonlyArray<{ prefix: Range; offset: number }> = [
  { prefix: range('::ffff:0:0', 96, ADDRESS_CLASSES.RESERVED), offset: 12 }, // IPv4-mapped
  { prefix: range('64:ff9b::', 96, ADDRESS_CLASSES.RESERVED), offset: 12 }, // NAT64
  { prefix: range('2002::', 16, ADDRESS_CLASSES.RESERVED), offset: 2 }, // 6to4
];

/** The address's bytes (4 for IPv4, 16 for IPv6), or undefined when it is not an IP literal. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  // A zone id (`fe80::1%eth0`) names an interface, not part of the address.
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const withoutZone = address.split('%', 1)[0]!;
  const version = isIP(withoutZone);
  if (version === 4) return Uint8Array.from(withoutZone.split('.').map(Number));
  if (version !== 6) return undefined;

  let head = withoutZone;
  const tailBytes: number[] = [];
  const lastColon = head.lastIndexOf(':');
  const last = head.slice(lastColon + 1);
  if (last.includes('.')) {
    tailBytes.push(...last.split('.').map(Number));
    head = `${head.slice(0, lastColon + 1)}0:0`; // placeholder groups, replaced below
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const leftGroups = groups(left);
  const rightGroups = groups(right);
  const missing = right === undefined ? 0 : 8 - leftGroups.length - rightGroups.length;
  const all = [...leftGroups, ...new Array<number>(missing).fill(0), ...rightGroups];
  const bytes = new Uint8Array(16);
  all.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  if (tailBytes.length === 4) bytes.set(tailBytes, 12);
  return bytes;
}

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

function classifyBytes(bytes: Uint8Array): AddressClass | undefined {
  if (bytes.length === 4) return IPV4_RANGES.find((r) => inRange(bytes, r))?.class;
  for (const { prefix, offset } of EMBEDDED_IPV4) {
    if (inRange(bytes, prefix)) return classifyBytes(bytes.slice(offset, offset + 4));
  }
  return IPV6_RANGES.find((r) => inRange(bytes, r))?.class;
}

/**
 * Why an address may not be called back, or undefined for an ordinary public unicast address.
 * Throws nothing: text that is not an IP literal is reported as `reserved`, since a caller
 * that asks about it has already gone wrong.
 */
export function classifyAddress(address: string): AddressClass | undefined {
  const bytes = parseIpAddress(address);
  return bytes === undefined ? ADDRESS_CLASSES.RESERVED : classifyBytes(bytes);
}

/** True when a callback may connect to `address` under the tenant's policy. */
export function isAddressAllowed(address: string, allowPrivate: boolean): boolean {
  const cls = classifyAddress(address);
  return cls === undefined || (allowPrivate && ALLOWABLE_CLASSES.has(cls));
}
