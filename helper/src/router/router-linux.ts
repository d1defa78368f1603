// The Linux router: exit-node routes in the main table with iproute2, for IPv4 and IPv6; the
// full tunnel with policy routing and nftables (full-tunnel.ts).
import { mustRunSync, runCommandSync } from '../../../src-shared/lib/command.js';
import { formatIpPrefix, parseIp, parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { FullTunnel, recoverFullTunnel } from './full-tunnel.js';
import type { LocalNetwork, Router } from './index.js';

const IP_MISSING = 'the `ip` command (iproute2) is missing: install the iproute2 package';

/** MAX_LOCAL_NETWORKS bounds how many of the machine's routes one conflict check reads. */
const MAX_LOCAL_NETWORKS = 4096;
/** MAX_RECORDED_WORDS bounds a recorded route spec read back from a state file. */
const MAX_RECORDED_WORDS = 16;

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

/** familyFlag is iproute2's family option for a prefix. */
function familyFlag(p: IpPrefix): '-4' | '-6' {
  return p.addr.family === 4 ? '-4' : '-6';
}

/** recordedRouteArgs turns a recorded route spec ("PREFIX dev ADAPTER", IPv4 or IPv6) into
 * `ip` arguments, or null when it is not one. Records from before IPv6 carry no family: it is
 * read from the prefix, so they replay as they did. */
export function recordedRouteArgs(spec: string): string[] | null {
  if (typeof spec !== 'string' || spec.length > 512) return null;
  const words = spec.split(' ').filter((w) => w !== '');
  if (words.length === 0 || words.length > MAX_RECORDED_WORDS) return null;
  const dst = words[0]!;
  const family = dst.includes('/') ? parseIpPrefix(dst)?.addr.family : parseIp(dst)?.family;
  if (family === undefined) return null;
  return [family === 4 ? '-4' : '-6', 'route', 'del', ...words];
}

/** linuxRouter is the Router for Linux. */
export const linuxRouter: Router = {
  localNetworks(adapter) {
    return ([4, 6] as const).flatMap((family) => {
      const r = runCommandSync('ip', ['-j', `-${family}`, 'route', 'show', 'table', 'main']);
      return r.ok ? localNetworksFrom(r.stdout, adapter, family) : [];
    });
  },
  addRoute(route, adapter, src) {
    mustRunSync(
      'ip',
      [familyFlag(route), 'route', 'replace', formatIpPrefix(route), 'dev', adapter, 'src', src, 'proto', 'static'],
      IP_MISSING,
    );
  },
  removeRoute(route, adapter) {
    return runCommandSync('ip', [familyFlag(route), 'route', 'del', formatIpPrefix(route), 'dev', adapter]).ok;
  },
  removeRecordedRoute(spec) {
    const args = recordedRouteArgs(spec);
    return args !== null && runCommandSync('ip', args).ok;
  },
  fullTunnel: (o) => new FullTunnel(o),
  recover: (stateDir, log) => recoverFullTunnel(stateDir, log),
};
