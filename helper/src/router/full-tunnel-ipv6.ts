// IPv6 while the full tunnel carries IPv4 only: the exit node grants 0.0.0.0/0 but not ::/0
// (it has no IPv6 uplink, or the admin did not grant it). A full tunnel that left IPv6 alone
// would then send every IPv6 connection around the tunnel, from the machine's own address: the
// leak a privacy-minded user finds on the first IPv6 test site. So, kill switch or not, this
// system's own IPv6 output may only go to the adapter (the overlay), loopback, the tunnel's own
// marked datagrams, link-local and link-scope multicast destinations (neighbour discovery,
// RFC 4861) and directly connected IPv6 networks (the LAN, which the full tunnel leaves direct
// for IPv4 too). Everything else is rejected with ICMPv6 "administratively prohibited" (RFC 4443
// §3.1 code 1) rather than dropped, so applications fall back to IPv4 at once (RFC 8305) instead
// of waiting for a timeout, and counted. When ::/0 is granted too, IPv6 goes into the tunnel
// (full-tunnel.ts) and this guard is not installed.
import { formatIpPrefix, parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { ip } from '../tun/ip.js';

/** IPV6_GUARD_COMMENT marks the rule that refuses IPv6 around the tunnel (shown by nft). */
export const IPV6_GUARD_COMMENT = 'warren full tunnel: no IPv6 exit';

/** MAX_LAN6 bounds how many connected IPv6 networks become exceptions. */
const MAX_LAN6 = 256;

/** LINK_LOCAL6 are the destinations that never leave the link: unicast fe80::/10 and the
 * link-local multicast scope ff02::/16 (RFC 4291 §2.5.6, §2.7). */
const LINK_LOCAL6 = 'fe80::/10, ff02::/16';

/** ipv6GuardChain returns the nft chain (inside the full tunnel's inet table) that keeps IPv6
 * from leaving around the tunnel. It runs just before the kill switch (priority filter - 1), so
 * IPv6 is rejected at once whether or not the kill switch would also drop it. */
export function ipv6GuardChain(adapter: string, mark: number, lan6: readonly IpPrefix[]): string[] {
  return [
    '  chain ipv6guard {',
    '    type filter hook output priority filter - 1; policy accept;',
    '    meta nfproto != ipv6 accept',
    '    oifname "lo" accept',
    `    oifname "${adapter}" accept`,
    `    meta mark ${mark} accept`,
    `    ip6 daddr { ${LINK_LOCAL6} } accept`,
    ...(lan6.length ? [`    ip6 daddr { ${lan6.map(formatIpPrefix).join(', ')} } accept`] : []),
    `    meta nfproto ipv6 counter reject with icmpv6 type admin-prohibited comment "${IPV6_GUARD_COMMENT}"`,
    '  }',
  ];
}

/** killSwitchIpv6Rules lets the kill switch pass the same IPv6 exceptions as the guard. */
export function killSwitchIpv6Rules(lan6: readonly IpPrefix[]): string[] {
  return [
    `    ip6 daddr { ${LINK_LOCAL6} } accept`,
    ...(lan6.length ? [`    ip6 daddr { ${lan6.map(formatIpPrefix).join(', ')} } accept`] : []),
  ];
}

/** connectedNetworks6 lists the main table's directly connected IPv6 networks (routes without a
 * gateway), not the adapter's, not link-local (covered by the guard) and not the default route. */
export function connectedNetworks6(adapter: string): IpPrefix[] {
  let rows: Array<{ dst?: string; dev?: string; gateway?: string }>;
  try {
    rows = JSON.parse(ip(['-j', '-6', 'route', 'show', 'table', 'main'])) as typeof rows;
  } catch {
    return []; // no IPv6 on this host: nothing to except
  }
  if (!Array.isArray(rows)) return [];
  return rows
    .flatMap((r) => {
      if (typeof r.dst !== 'string' || r.dst === 'default' || r.gateway !== undefined || r.dev === adapter) return [];
      const p = parseIpPrefix(r.dst.includes('/') ? r.dst : `${r.dst}/128`);
      if (p === null || p.addr.family !== 6 || p.bits === 0) return [];
      // fe80::/64 and the multicast routes are already excepted as link scope.
      if (p.addr.w0 >>> 22 === 0x3fa || p.addr.w0 >>> 24 === 0xff) return [];
      return [p];
    })
    .slice(0, MAX_LAN6);
}
