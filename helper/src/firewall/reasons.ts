// Verdict codes: DESIGN.md convention 3 (every verdict has a reason, a counter per reason).
// Codes are explicit numbers because the filter returns them on the hot path; the names are
// stable strings that status --json shows, so neither may be renumbered or renamed.

/** PASS is the verdict for a packet that may go on. */
export const PASS = 0;

/** DROP codes, one per reason. */
export const DROP = {
  malformed: 1,
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
  ipv6NotFiltered: 19,
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
  'ipv6-not-filtered',
];
