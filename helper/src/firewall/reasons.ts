// Verdict codes: DESIGN.md convention 3 (every verdict has a reason, a counter per reason).
// Codes are explicit numbers because the filter returns them on the hot path; the names are
// stable strings that status --json shows, so neither may be renumbered or renamed. A retired
// code keeps its slot and name and is never returned again.

/** PASS is the verdict for a packet that may go on. */
export const PASS = 0;

/** DROP codes, one per reason. */
export const DROP = {
  malformed: 1,
  /** The version nibble is neither 4 nor 6 (the name predates IPv6 filtering and is kept). */
  notIpv4: 2,
  fragment: 3,
  noPolicyEgress: 4,
  noPolicyIngress: 5,
  protocolNotAllowed: 6,
  portNotAllowed: 7,
  tcpNotSyn: 8,
  tcpBadFlags: 9,
  icmpNoFlow: 10,
  icmpErrorNoFlow: 11,
  conntrackFull: 12,
  policyRevoked: 13,
  noRules: 14,
  unsolicitedFromSubnet: 15,
  notForThisSystem: 16,
  noRouteGrant: 17,
  dnsFromPeer: 18,
  // 19 is retired: 'ipv6-not-filtered', when every IPv6 packet was refused unparsed.
  /** An IPv6 extension header chain longer than MAX_EXT_HEADERS headers or MAX_EXT_BYTES bytes. */
  extHeaderLimit: 20,
  /** A first fragment without the whole header chain through the upper-layer header (RFC 7112). */
  firstFragmentIncomplete: 21,
  /** ICMPv6 that belongs to one link: neighbour and router discovery, MLD and their kin. */
  icmpv6LinkOnly: 22,
  /** An IPv6 packet with an IPv4-mapped source or destination (RFC 4291 §2.5.5.2). */
  ipv4MappedAddress: 23,
} as const;

/** DropCode is any drop code. */
export type DropCode = (typeof DROP)[keyof typeof DROP];

/** REASONS maps a verdict code to its stable name. */
export const REASONS: readonly string[] = [
  'pass',
  'malformed',
  'not-ipv4',
  'fragment',
  'no-policy-egress',
  'no-policy-ingress',
  'protocol-not-allowed',
  'port-not-allowed',
  'tcp-not-syn',
  'tcp-bad-flags',
  'icmp-no-flow',
  'icmp-error-no-flow',
  'conntrack-full',
  'policy-revoked',
  'no-rules',
  'unsolicited-from-subnet',
  'not-for-this-system',
  'no-route-grant',
  'dns-from-peer',
  'ipv6-not-filtered', // retired
  'ext-header-limit',
  'first-fragment-incomplete',
  'icmpv6-link-only',
  'ipv4-mapped-address',
];
