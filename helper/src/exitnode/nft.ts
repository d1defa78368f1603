// The exit node's nftables table (nft(8), "TABLES", "CHAINS", "NAT STATEMENTS"): one table of
// our own per adapter, created in a single `nft -f -` transaction so that it is all there or not
// at all, and removed with one `delete table`. Nothing outside that table is touched.
import { formatCidr, cidrNetwork, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';

/** ResolvedRoute is a provided route with the LAN interface and our address on it. */
export interface ResolvedRoute {
  route: Cidr;
  via: string;
  snatTo: string;
}

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
  routes: ResolvedRoute[];
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
  const t = inp.table;
  const snat = inp.routes.map((r) => {
    // A /0 matches every destination, and nft rejects "ip daddr 0.0.0.0/0" on some versions.
    const daddr = r.route.bits === 0 ? '' : ` ip daddr ${formatCidr(cidrNetwork(r.route))}`;
    return `    ip saddr ${overlay}${daddr} oifname "${r.via}" counter snat to ${r.snatTo}`;
  });
  return [
    `add table ip ${t}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...snat,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname != "${inp.adapter}" ip daddr ${overlay} ct state new counter drop comment "${DROP_COMMENT}"`,
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
