// The full tunnel's nftables table (one `inet` table per adapter, both families):
//   - premangle/postmangle copy the tunnel's mark onto the conntrack entry of its own UDP flow
//     and back onto the replies, so that IPv4 reverse-path filtering (rp_filter with
//     src_valid_mark) judges the exit node's answers with the mark's routes (wg-quick's scheme).
//     The same rules run for IPv6, where the kernel has no rp_filter sysctl at all (reverse-path
//     filtering exists for IPv6 only as a netfilter `fib` match, which Warren does not install);
//   - ipv6guard (full-tunnel-ipv6.ts) refuses IPv6 beyond the LAN while only IPv4 goes through
//     the tunnel;
//   - the optional kill switch drops (and counts) the output of every tunnelled family that is
//     not on the adapter, not the tunnel's own datagrams, not loopback and not to a directly
//     connected network.
import { toCidr, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { ip } from '../tun/ip.js';
import { ipv6GuardChain, killSwitchIpv6Rules } from './full-tunnel-ipv6.js';
import { localNetworksFrom } from './route-list.js';
import type { TunnelFamilies } from './index.js';

/** FULL_TUNNEL_MARK is both the fwmark and the routing table number (wg-quick uses the port). */
export const FULL_TUNNEL_MARK = 51820;
export const KILL_SWITCH_COMMENT = 'warren kill switch';
/** IFNAME_RE is what an interface name may look like before it goes into an nft rule. */
export const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
/** MAX_LAN bounds how many connected IPv4 networks become exceptions. */
const MAX_LAN = 256;

/** fullTunnelTableName is the nft table for an adapter. */
export function fullTunnelTableName(adapter: string): string {
  return `warren_ft_${adapter.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 15)}`;
}

/** FullTunnelNftOptions is what the table depends on besides its name and the adapter. */
export interface FullTunnelNftOptions {
  killSwitch: boolean;
  /** families says what goes through the tunnel; the default is IPv4 only. */
  families?: TunnelFamilies;
  lan: Cidr[];
  lan6?: IpPrefix[];
}

/** buildFullTunnelNft returns the `nft -f -` transaction for the table (replacing a stale one). */
export function buildFullTunnelNft(table: string, adapter: string, o: FullTunnelNftOptions): string {
  if (!IFNAME_RE.test(adapter))
    throw new Error(`refusing interface name ${JSON.stringify(adapter.slice(0, 32))} in an nft rule`);
  const families = o.families ?? { ipv4: true, ipv6: false };
  const lan6 = o.lan6 ?? [];
  const lines = [
    `add table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  chain premangle {',
    '    type filter hook prerouting priority mangle; policy accept;',
    '    meta l4proto udp meta mark set ct mark',
    '  }',
    '  chain postmangle {',
    '    type filter hook postrouting priority mangle; policy accept;',
    `    meta l4proto udp meta mark ${FULL_TUNNEL_MARK} ct mark set meta mark`,
    '  }',
    // With ::/0 granted IPv6 goes into the tunnel like IPv4; only without it is it refused.
    ...(families.ipv4 && !families.ipv6 ? ipv6GuardChain(adapter, FULL_TUNNEL_MARK, lan6) : []),
  ];
  if (o.killSwitch) lines.push(...killSwitchChain(adapter, families, o.lan, lan6));
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

// killSwitchChain drops what would leave around the tunnel. A family the tunnel does not carry
// is let through untouched (only ::/0 granted: IPv4 keeps the machine's normal routes), except
// IPv6 while IPv4 alone is tunnelled, which the kill switch drops as before the guard's reject.
function killSwitchChain(adapter: string, families: TunnelFamilies, lan: Cidr[], lan6: IpPrefix[]): string[] {
  return [
    '  chain killswitch {',
    '    type filter hook output priority filter; policy accept;',
    ...(families.ipv4 ? [] : ['    meta nfproto != ipv6 accept']),
    '    oifname "lo" accept',
    `    oifname "${adapter}" accept`,
    `    meta mark ${FULL_TUNNEL_MARK} accept`,
    ...(families.ipv4 && lan.length ? [`    ip daddr { ${lan.map(formatCidr).join(', ')} } accept`] : []),
    ...killSwitchIpv6Rules(lan6),
    `    counter drop comment "${KILL_SWITCH_COMMENT}"`,
    '  }',
  ];
}

/** connectedNetworks lists the main table's link-scope IPv4 routes (the LANs), not the adapter's. */
export function connectedNetworks(adapter: string): Cidr[] {
  let json: string;
  try {
    json = ip(['-j', '-4', 'route', 'show', 'table', 'main', 'scope', 'link']);
  } catch {
    return [];
  }
  return localNetworksFrom(json, adapter, 4)
    .flatMap((n) => toCidr(n.cidr) ?? [])
    .slice(0, MAX_LAN);
}
