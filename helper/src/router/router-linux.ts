// The Linux router: exit-node routes in the main table with iproute2, for IPv4 and IPv6; the
// full tunnel with policy routing and nftables (full-tunnel.ts).
import { mustRunSync, runCommandSync } from '../../../src-shared/lib/command.js';
import { formatIpPrefix, parseIp, parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { FullTunnel, recoverFullTunnel } from './full-tunnel.js';
import type { Router } from './index.js';
import { localNetworksFrom } from './route-list.js';

// Re-exported for the tests, which check the parser beside the router that uses it.
export { localNetworksFrom };

const IP_MISSING = 'the `ip` command (iproute2) is missing: install the iproute2 package';

/** MAX_RECORDED_WORDS bounds a recorded route spec read back from a state file. */
const MAX_RECORDED_WORDS = 16;

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
