// The exit node's nftables table (nft(8), "TABLES", "CHAINS", "NAT STATEMENTS"): one table of
// our own per adapter, created in a single `nft -f -` transaction so that it is all there or not
// at all, and removed with one `delete table`. Nothing outside that table is touched.
//
// The table is of the inet family, so one table holds the IPv4 and the IPv6 rules. IPv6 is
// translated too (NAT66, the same source NAT as IPv4): the overlay's IPv6 addresses are a ULA
// /48 (RFC 4193), which is not routed globally (§4.1) and which LAN hosts have no route back to,
// so the exit node's own address on the LAN must be the source of what it forwards.
import { cidrNetwork, formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIp, formatIpPrefix, parseIp, prefixNetwork, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';

/** ResolvedRoute is a provided route with the LAN interface and our address on it. */
export interface ResolvedRoute {
  route: IpPrefix;
  via: string;
  snatTo: string;
}

/** NFT_FAMILY is our table's family. Helpers before IPv6 exit routes made an `ip` table of the
 * same name; removal (exitnode-linux.ts) looks for both. */
export const NFT_FAMILY = 'inet';

/** DROP_COMMENT marks the rule whose counter is the unsolicited-packet count. */
export const DROP_COMMENT = "unsolicited from the exit node's subnets";

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** exitTableName is the table for an adapter; adapter names are sanitised to nft identifiers. */
export function exitTableName(adapter: string): string {
  return `warren_exit_${adapter.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 15)}`;
}

/** NftScriptInput is what buildNftScript needs. */
export interface NftScriptInput {
  table: string;
  adapter: string;
  overlay: Cidr;
  /** overlay6 is the overlay's IPv6 prefix, or null: no IPv6 rules (and no IPv6 routes). */
  overlay6: IpPrefix | null;
  routes: ResolvedRoute[];
}

// snatRule translates what comes from the overlay of the route's family and leaves through the
// route's interface. A /0 matches every destination, and nft rejects "ip daddr 0.0.0.0/0" on
// some versions, so it has no daddr. In an inet table the snat statement names its family.
function snatRule(r: ResolvedRoute, overlay: string, overlay6: string | null): string {
  const six = r.route.addr.family === 6;
  const src = parseIp(r.snatTo);
  if (src === null || src.family !== r.route.addr.family)
    throw new Error(`refusing source address ${JSON.stringify(r.snatTo.slice(0, 48))} in an nft rule`);
  if (six && overlay6 === null) throw new Error('refusing an IPv6 route without an IPv6 overlay');
  const ip = six ? 'ip6' : 'ip';
  const daddr = r.route.bits === 0 ? '' : ` ${ip} daddr ${formatIpPrefix(prefixNetwork(r.route))}`;
  const saddr = six ? overlay6 : overlay;
  return `    ${ip} saddr ${saddr}${daddr} oifname "${r.via}" counter snat ${ip} to ${formatIp(src)}`;
}

/**
 * buildNftScript returns the transaction for `nft -f -`. The leading add+delete makes it replace
 * a stale table of ours left by a crash that recovery did not see, atomically.
 */
export function buildNftScript(inp: NftScriptInput): string {
  for (const name of [inp.adapter, ...inp.routes.map((r) => r.via)]) {
    if (!IFNAME_RE.test(name))
      throw new Error(`refusing interface name ${JSON.stringify(name.slice(0, 32))} in an nft rule`);
  }
  const overlay = formatCidr(cidrNetwork(inp.overlay));
  const o6 = inp.overlay6 ?? null;
  if (o6 !== null && o6.addr.family !== 6) throw new Error('the IPv6 overlay is not IPv6');
  const overlay6 = o6 === null ? null : formatIpPrefix(prefixNetwork(o6));
  const t = inp.table;
  const snat = inp.routes.map((r) => snatRule(r, overlay, overlay6));
  // Unsolicited traffic into the overlay is dropped for both families whenever the network has
  // IPv6, even if only IPv4 routes are provided: forwarding may be on for other reasons.
  const drop = (ip: string, net: string): string =>
    `    iifname != "${inp.adapter}" ${ip} daddr ${net} ct state new counter drop comment "${DROP_COMMENT}"`;
  return [
    `add table ${NFT_FAMILY} ${t}`,
    `delete table ${NFT_FAMILY} ${t}`,
    `table ${NFT_FAMILY} ${t} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...snat,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    drop('ip', overlay),
    ...(overlay6 === null ? [] : [drop('ip6', overlay6)]),
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * droppedFromNftJson sums the packet counters of the unsolicited-drop rules in the output of
 * `nft -j list table`. Unexpected shapes count as zero rather than throwing.
 */
export function droppedFromNftJson(text: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 0;
  }
  const items = (doc as { nftables?: unknown })?.nftables;
  if (!Array.isArray(items)) return 0;
  let sum = 0;
  for (const item of items) {
    const rule = (item as { rule?: { chain?: unknown; comment?: unknown; expr?: unknown } } | null)?.rule;
    if (!rule || rule.chain !== 'forward' || rule.comment !== DROP_COMMENT || !Array.isArray(rule.expr)) continue;
    for (const e of rule.expr) {
      const packets = (e as { counter?: { packets?: unknown } } | null)?.counter?.packets;
      if (typeof packets === 'number' && Number.isSafeInteger(packets) && packets >= 0) sum += packets;
    }
  }
  return sum;
}
