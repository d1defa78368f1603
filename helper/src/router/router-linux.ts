// The Linux router: exit-node routes in the main table with iproute2; the full tunnel with policy
// routing and nftables (full-tunnel.ts).
import { mustRunSync, runCommandSync } from '../../../src-shared/lib/command.js';
import { formatCidr, parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { FullTunnel, recoverFullTunnel } from './full-tunnel.js';
import type { LocalNetwork, Router } from './index.js';

const IP_MISSING = 'the `ip` command (iproute2) is missing: install the iproute2 package';

/** localNetworksFrom reads `ip -j -4 route show table main`: every route that is not the default
 * and not through the adapter (a route without a prefix length is a host route). */
export function localNetworksFrom(json: string, adapter: string): LocalNetwork[] {
  let rows: Array<{ dst?: string; dev?: string }>;
  try {
    rows = JSON.parse(json) as typeof rows;
  } catch {
    return [];
  }
  if (!Array.isArray(rows)) return [];
  return rows.flatMap((r) => {
    if (!r.dst || r.dst === 'default' || r.dev === adapter) return [];
    const cidr = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    return cidr ? [{ cidr, dev: r.dev ?? '?' }] : [];
  });
}

/** linuxRouter is the Router for Linux. */
export const linuxRouter: Router = {
  localNetworks(adapter) {
    const r = runCommandSync('ip', ['-j', '-4', 'route', 'show', 'table', 'main']);
    return r.ok ? localNetworksFrom(r.stdout, adapter) : [];
  },
  addRoute(route, adapter, src) {
    mustRunSync(
      'ip',
      ['route', 'replace', formatCidr(route), 'dev', adapter, 'src', src, 'proto', 'static'],
      IP_MISSING,
    );
  },
  removeRoute(route, adapter) {
    return runCommandSync('ip', ['route', 'del', formatCidr(route), 'dev', adapter]).ok;
  },
  removeRecordedRoute(spec) {
    return runCommandSync('ip', ['route', 'del', ...spec.split(' ')]).ok;
  },
  fullTunnel: (o) => new FullTunnel(o.adapter, o.virtualAddress, o.setMark, o.stateDir, o.killSwitch, o.log),
  recover: (stateDir, log) => recoverFullTunnel(stateDir, log),
};
