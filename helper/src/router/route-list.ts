// The machine's own routes as iproute2 lists them (`ip -j route show`), read defensively: the
// exit routes' conflict check (router-linux.ts) and the full tunnel's kill-switch exceptions
// (full-tunnel-nft.ts) both need "which networks does this machine reach without the adapter".
import { parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LocalNetwork } from './index.js';

/** MAX_LOCAL_NETWORKS bounds how many of the machine's routes one conflict check reads. */
const MAX_LOCAL_NETWORKS = 4096;
/** linkScopeOnly6 says whether an IPv6 prefix lies inside link-local unicast fe80::/10 or
 * multicast ff00::/8 (RFC 4291 §2.5.6, §2.7): every IPv6 link has such routes, and they never
 * clash with a subnet an exit node provides. */
function linkScopeOnly6(p: IpPrefix): boolean {
  if (p.addr.family !== 6) return false;
  const w0 = p.addr.w0;
  return (p.bits >= 10 && w0 >>> 22 === 0x3fa) || (p.bits >= 8 && w0 >>> 24 === 0xff);
}

/** localNetworksFrom reads `ip -j -4 route show table main` (or -6): every route of that family
 * that is not the default and not through the adapter (a route without a prefix length is a
 * host route); for IPv6 the link-local and multicast routes are left out. */
export function localNetworksFrom(json: string, adapter: string, family: 4 | 6 = 4): LocalNetwork[] {
  let rows: Array<{ dst?: unknown; dev?: unknown }>;
  try {
    rows = JSON.parse(json) as typeof rows;
  } catch {
    return [];
  }
  if (!Array.isArray(rows)) return [];
  return rows
    .flatMap((r) => {
      if (typeof r !== 'object' || r === null) return [];
      if (typeof r.dst !== 'string' || r.dst === 'default' || r.dev === adapter) return [];
      const cidr = parseIpPrefix(r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`);
      if (cidr === null || cidr.addr.family !== family || linkScopeOnly6(cidr)) return [];
      return [{ cidr, dev: typeof r.dev === 'string' ? r.dev : '?' }];
    })
    .slice(0, MAX_LOCAL_NETWORKS);
}
