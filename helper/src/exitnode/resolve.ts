// Finds each provided route's LAN interface and our source address on it by asking the kernel
// (iproute2 ip-route(8), ip-address(8)); read-only. route.ts parses the answers.
import { formatIpPrefix, prefixNetwork, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { CommandRunner } from '../../../src-shared/lib/command.js';
import type { ResolvedRoute } from './nft.js';
import { parseDefaultRoute, parseGlobalAddress6, parseRouteGet, probeAddresses } from './route.js';

// defaultSource4 is our address towards the IPv4 default route: its own src, else the source
// the kernel would use towards its gateway on the same interface.
async function defaultSource4(run: CommandRunner, dev: string, gateway: string | null): Promise<string | null> {
  if (gateway === null) return null;
  const g = await run('ip', ['-j', 'route', 'get', gateway]);
  const path = g.ok ? parseRouteGet(g.stdout) : null;
  return path !== null && path.dev === dev ? path.prefsrc : null;
}

// defaultSource6 is a stable global address of the default route's interface. The gateway is
// no help here: an IPv6 next hop is normally link-local (RFC 4861 §8), and so would be the
// source towards it.
async function defaultSource6(run: CommandRunner, dev: string): Promise<string | null> {
  const r = await run('ip', ['-j', '-6', 'addr', 'show', 'dev', dev, 'scope', 'global']);
  return r.ok ? parseGlobalAddress6(r.stdout) : null;
}

async function resolveDefault(
  run: CommandRunner,
  route: IpPrefix,
  adapter: string,
  label: string,
): Promise<ResolvedRoute> {
  const family = route.addr.family;
  const r = await run('ip', ['-j', `-${family}`, 'route', 'show', 'default']);
  const dr = r.ok ? parseDefaultRoute(r.stdout, family) : null;
  if (dr === null) throw new Error(`exit node route ${label}: this machine has no IPv${family} default route`);
  if (dr.dev === adapter)
    throw new Error(`exit node route ${label}: the default route leads through the Warren adapter ${adapter}`);
  const src =
    dr.prefsrc ?? (family === 4 ? await defaultSource4(run, dr.dev, dr.gateway) : await defaultSource6(run, dr.dev));
  if (src === null)
    throw new Error(
      `exit node route ${label}: cannot tell this machine's ${family === 6 ? 'global IPv6 ' : ''}address on ` +
        `${dr.dev}, the default route's interface`,
    );
  return { route: prefixNetwork(route), via: dr.dev, snatTo: src };
}

/** resolveRoute finds the interface and our source address for a provided route of either family. */
export async function resolveRoute(run: CommandRunner, route: IpPrefix, adapter: string): Promise<ResolvedRoute> {
  const label = formatIpPrefix(prefixNetwork(route));
  if (route.bits === 0) return resolveDefault(run, route, adapter, label);
  const family = route.addr.family;
  // IPv4 keeps its historical argument list (no -4): the address already says the family.
  const famArgs = family === 6 ? ['-6'] : [];
  for (const probe of probeAddresses(route)) {
    const r = await run('ip', ['-j', ...famArgs, 'route', 'get', probe]);
    const path = r.ok ? parseRouteGet(r.stdout, family) : null;
    if (path === null) continue;
    if (path.dev === adapter)
      throw new Error(
        `exit node route ${label}: it leads back through the Warren adapter ${adapter}, not to a local network`,
      );
    return { route: prefixNetwork(route), via: path.dev, snatTo: path.prefsrc };
  }
  throw new Error(`exit node route ${label}: this machine has no local path to it (no interface or source address)`);
}
