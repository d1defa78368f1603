// Subnets of exit-node route grants in the policy file: IPv4 or IPv6 prefixes, canonical (no host
// bits), never overlapping the network's own overlay of their family, so that no virtual address
// is routed out through an exit node. 0.0.0.0/0 and ::/0, the full tunnel of each family, contain
// the overlay by definition and are fine: the overlay's own route stays more specific.
import {
  formatIpPrefix,
  fromCidr,
  isLinkLocal,
  parseIpPrefix,
  prefixContains,
  prefixesOverlap,
  prefixIsCanonical,
  prefixNetwork,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { quote, typeName } from '../../../src-shared/lib/errors.js';

/** MULTICAST6 is IPv6 multicast (RFC 4291 §2.7). */
const MULTICAST6: IpPrefix = { addr: { family: 6, w0: 0xff000000, w1: 0, w2: 0, w3: 0 }, bits: 8 };

/** Overlays are the network's virtual networks (either may be unknown to the caller). */
export interface Overlays {
  v4?: Cidr;
  v6?: IpPrefix;
}

/** RouteSubnet is a subnet read from the file: its canonical text, or what is wrong with it. */
export type RouteSubnet = { ok: true; text: string } | { ok: false; problem: string };

/** routeSubnet checks one entry of a route's Subnets. */
export function routeSubnet(v: unknown, overlays: Overlays): RouteSubnet {
  const example = 'like 192.168.1.0/24 or fd00:1::/64';
  if (typeof v !== 'string') return { ok: false, problem: `must be a CIDR string ${example}, not ${typeName(v)}` };
  const p = v.length <= 64 ? parseIpPrefix(v) : null;
  if (p === null) return { ok: false, problem: `${quote(v.slice(0, 64))} is not an IPv4 or IPv6 prefix ${example}` };
  if (!prefixIsCanonical(p))
    return { ok: false, problem: `${quote(v)} has host bits set; did you mean ${formatIpPrefix(prefixNetwork(p))}?` };
  const overlay = p.addr.family === 4 ? overlays.v4 && fromCidr(overlays.v4) : overlays.v6;
  if (overlay && p.bits > 0 && prefixesOverlap(p, overlay))
    return { ok: false, problem: `${v} overlaps the virtual network ${formatIpPrefix(overlay)}` };
  if (p.bits >= 8 && prefixContains(MULTICAST6, p.addr))
    return { ok: false, problem: `${v} is multicast (ff00::/8), which cannot be routed through an exit node` };
  if (p.bits >= 10 && isLinkLocal(p.addr))
    return { ok: false, problem: `${v} is link-local, which never leaves its link` };
  return { ok: true, text: formatIpPrefix(p) };
}
