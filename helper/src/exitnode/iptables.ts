// The exit node's rules for machines without nft(8): two chains of our own, one in nat
// (source NAT per provided route) and one in filter (drop new connections from anything but
// the adapter towards the overlay, with a counter), each jumped to from the built-in chain.
// Installed with one `iptables-restore --noflush` transaction, so they are all there or not at
// all; removed by deleting the two jumps and the two chains, nothing else.
//
// IPv4 only: IPv6 exit routes are refused on this backend (IPV6_NEEDS_NFT) rather than kept in
// a second, ip6tables, set of chains; the nft backend covers both families in one table.
import { cidrNetwork, formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { toCidr } from '../../../src-shared/lib/ip/addr.js';
import type { CommandRunner } from '../../../src-shared/lib/command.js';
import type { ResolvedRoute } from './nft.js';

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
/** IPTABLES_CHAIN_RE is what a chain base name of ours looks like; anything else is refused. */
export const IPTABLES_CHAIN_RE = /^WRN-[A-Za-z0-9_.-]{1,15}$/;
export const IPTABLES_DROP_COMMENT = 'warren: unsolicited from the exit node subnets';
/** IPV6_NEEDS_NFT is the refusal of IPv6 routes on this backend. */
export const IPV6_NEEDS_NFT = 'IPv6 exit routes need nftables; install nftables';

/** iptablesChainBase names the chains for an adapter: BASE-NAT and BASE-FWD (at most 23 characters). */
export function iptablesChainBase(adapter: string): string {
  return `WRN-${adapter.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 15)}`;
}

/** buildIptablesRestore returns the iptables-restore input that creates our chains and jumps. */
export function buildIptablesRestore(base: string, adapter: string, overlay: Cidr, routes: ResolvedRoute[]): string {
  for (const name of [adapter, ...routes.map((r) => r.via)]) {
    if (!IFNAME_RE.test(name))
      throw new Error(`refusing interface name ${JSON.stringify(name.slice(0, 32))} in an iptables rule`);
  }
  if (!IPTABLES_CHAIN_RE.test(base)) throw new Error(`refusing chain name ${JSON.stringify(base)}`);
  const net = formatCidr(cidrNetwork(overlay));
  const snat = routes.map((r) => {
    const route = toCidr(r.route);
    if (route === null) throw new Error(IPV6_NEEDS_NFT);
    const dst = route.bits === 0 ? '' : ` -d ${formatCidr(cidrNetwork(route))}`;
    return `-A ${base}-NAT -s ${net}${dst} -o ${r.via} -j SNAT --to-source ${r.snatTo}`;
  });
  return [
    '*nat',
    `:${base}-NAT - [0:0]`,
    `-A POSTROUTING -j ${base}-NAT`,
    ...snat,
    'COMMIT',
    '*filter',
    `:${base}-FWD - [0:0]`,
    `-I FORWARD 1 -j ${base}-FWD`,
    `-A ${base}-FWD ! -i ${adapter} -d ${net} -m conntrack --ctstate NEW -m comment --comment "${IPTABLES_DROP_COMMENT}" -j DROP`,
    'COMMIT',
    '',
  ].join('\n');
}

/** removeIptables deletes our jumps and chains (each may be gone already); true if none is left. */
export async function removeIptables(run: CommandRunner, base: string): Promise<boolean> {
  if (!IPTABLES_CHAIN_RE.test(base)) return false;
  let ok = true;
  for (const [table, builtin, chain] of [
    ['nat', 'POSTROUTING', `${base}-NAT`],
    ['filter', 'FORWARD', `${base}-FWD`],
  ] as const) {
    // A jump may have been added twice by a crash between runs: delete until none is left.
    for (let i = 0; i < 8; i++)
      if (!(await run('iptables', ['-w', '5', '-t', table, '-D', builtin, '-j', chain])).ok) break;
    if (!(await run('iptables', ['-w', '5', '-t', table, '-n', '-L', chain])).ok) continue;
    await run('iptables', ['-w', '5', '-t', table, '-F', chain]);
    if (!(await run('iptables', ['-w', '5', '-t', table, '-X', chain])).ok) ok = false;
  }
  return ok;
}

/** droppedFromIptables reads the drop rule's packet counter from `iptables -L CHAIN -v -x -n`. */
export function droppedFromIptables(text: string): number {
  for (const line of text.split('\n')) {
    if (!line.includes(IPTABLES_DROP_COMMENT)) continue;
    const n = Number(line.trim().split(/\s+/)[0]);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }
  return 0;
}
