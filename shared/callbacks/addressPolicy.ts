import ipaddr from 'ipaddr.js';

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
 * metadata and credential services (see METADATA_ADDRESSES) hand out credentials.
 */
export const ALLOWABLE_CLASSES: ReadonlySet<AddressClass> = new Set<AddressClass>([
  ADDRESS_CLASSES.LOOPBACK,
  ADDRESS_CLASSES.PRIVATE,
  ADDRESS_CLASSES.SHARED,
  ADDRESS_CLASSES.LINK_LOCAL,
  ADDRESS_CLASSES.SITE_LOCAL,
  ADDRESS_CLASSES.UNIQUE_LOCAL,
]);

/**
 * Cloud metadata and credential endpoints. Never a callback destination, whatever the tenant's
 * policy: a POST there from the worker's network could read or mint credentials. Matched on the
 * exact address after any embedded IPv4 has been extracted, before the range classification
 * (most of them sit inside link-local or shared ranges a tenant may open up).
 */
export const METADATA_ADDRESSES: ReadonlySet<string> = new Set([
  '169.254.169.254', // EC2 IMDS (also GCP and Azure)
  'fd00:ec2::254', // EC2 IMDS over IPv6
  '169.254.170.2', // ECS task credentials
  '169.254.170.23', // EKS Pod Identity agent
  'fd00:ec2::23', // EKS Pod Identity agent over IPv6
  '100.100.100.200', // Alibaba Cloud metadata
  '192.0.0.192', // Oracle Cloud metadata
]);

/** Compares addresses by value, whatever their spelling or zone id. */
const byteKey = (address: ipaddr.IPv4 | ipaddr.IPv6): string => address.toByteArray().join('.');
const METADATA_KEYS: ReadonlySet<string> = new Set([...METADATA_ADDRESSES].map((a) => byteKey(ipaddr.parse(a))));

/**
 * ipaddr.js's range names mapped onto ours. `unicast` is its name for "none of the special
 * ranges", i.e. public. A range name not listed here (a later ipaddr.js adding one) is treated
 * as reserved: a new special-purpose range is refused until someone decides otherwise.
 */
const RANGE_CLASSES: Readonly<Record<string, AddressClass | null>> = {
  unicast: null,
  unspecified: ADDRESS_CLASSES.UNSPECIFIED,
  broadcast: ADDRESS_CLASSES.RESERVED,
  multicast: ADDRESS_CLASSES.MULTICAST,
  linkLocal: ADDRESS_CLASSES.LINK_LOCAL,
  loopback: ADDRESS_CLASSES.LOOPBACK,
  carrierGradeNat: ADDRESS_CLASSES.SHARED,
  private: ADDRESS_CLASSES.PRIVATE,
  reserved: ADDRESS_CLASSES.RESERVED,
  // Public anycast services (AS112 reverse-DNS sinks, AMT relays): ordinary unicast to us.
  as112: null,
  as112v6: null,
  amt: null,
  uniqueLocal: ADDRESS_CLASSES.UNIQUE_LOCAL,
  deprecatedSiteLocal: ADDRESS_CLASSES.SITE_LOCAL,
  discard: ADDRESS_CLASSES.RESERVED,
  benchmarking: ADDRESS_CLASSES.RESERVED,
  // Teredo hides its client address (XOR-obfuscated) and is long deprecated: refuse outright.
  teredo: ADDRESS_CLASSES.RESERVED,
  deprecatedOrchid: ADDRESS_CLASSES.RESERVED,
  orchid2: ADDRESS_CLASSES.RESERVED,
  droneRemoteIdProtocolEntityTags: ADDRESS_CLASSES.RESERVED,
  segmentRouting: ADDRESS_CLASSES.RESERVED,
};

/** The local-use NAT64 prefix (RFC 8215) puts the IPv4 address where its operator chooses. */
const LOCAL_NAT64 = ipaddr.IPv6.parse('64:ff9b:1::');

/**
 * Parses an IP literal with ipaddr.js, brackets and zone id allowed. Its IPv4 parser also takes
 * the legacy inet_aton forms (`0x7f.1`, `2130706433`, `0177.0.0.1`), so text that some resolver
 * would read as an address is classified as that address rather than waved through.
 */
function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return ipaddr.isValid(address) ? ipaddr.parse(address) : undefined;
}

/** The address's bytes (4 for IPv4, 16 for IPv6), or undefined when it is not an IP literal. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const parsed = parse(text);
  return parsed === undefined ? undefined : Uint8Array.from(parsed.toByteArray());
}

const ipv4FromParts = (high: number, low: number): ipaddr.IPv4 =>
  new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

/**
 * The IPv4 address an IPv6 address carries and a packet to it may end up at, if any:
 * `::ffff:127.0.0.1` is loopback to a dual-stack socket, `::ffff:0:a.b.c.d` (IPv4-translated,
 * RFC 6145), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) gateways forward to the embedded address.
 */
function embeddedIpv4(address: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const p = address.parts;
  switch (range) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return ipv4FromParts(p[6]!, p[7]!);
    case 'rfc6052':
      return address.match(LOCAL_NAT64, 48) ? undefined : ipv4FromParts(p[6]!, p[7]!);
    case '6to4':
      return ipv4FromParts(p[1]!, p[2]!);
    default:
      return undefined;
  }
}

function classifyParsed(address: ipaddr.IPv4 | ipaddr.IPv6): AddressClass | undefined {
  if (METADATA_KEYS.has(byteKey(address))) return ADDRESS_CLASSES.METADATA;
  const range = address.range();
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    const v4 = embeddedIpv4(v6, range);
    if (v4 !== undefined) return classifyParsed(v4);
    // The local-use NAT64 prefix could translate to anything, metadata included.
    if (range === 'rfc6052') return ADDRESS_CLASSES.RESERVED;
    // IPv4-compatible (::a.b.c.d, deprecated by RFC 4291); ipaddr.js calls it unicast.
    if (range === 'unicast' && v6.parts.slice(0, 6).every((part) => part === 0)) return ADDRESS_CLASSES.RESERVED;
  }
  const cls = RANGE_CLASSES[range];
  return cls === undefined ? ADDRESS_CLASSES.RESERVED : (cls ?? undefined);
}

/**
 * Why an address may not be called back, or undefined for an ordinary public unicast address.
 * Throws nothing: text that is not an IP literal is reported as `reserved`, since a caller
 * that asks about it has already gone wrong.
 */
export function classifyAddress(address: string): AddressClass | undefined {
  const parsed = parse(address);
  return parsed === undefined ? ADDRESS_CLASSES.RESERVED : classifyParsed(parsed);
}

/** True when a callback may connect to `address` under the tenant's policy. */
export function isAddressAllowed(address: string, allowPrivate: boolean): boolean {
  const cls = classifyAddress(address);
  return cls === undefined || (allowPrivate && ALLOWABLE_CLASSES.has(cls));
}
