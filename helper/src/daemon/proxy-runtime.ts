// The daemon's proxies: the egress HTTP proxy on 127.0.0.1 when the profile has
// Egress, and one ingress forwarder on the virtual address per Ingress entry. Policy still
// applies: an ingress port is reached only by peers the firewall lets through to it.
import { lookup } from 'node:dns/promises';
import type { Profile } from '../config/schema.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { compileRules } from '../proxy/match.js';
import { startEgressProxy, type EgressProxy } from '../proxy/egress.js';
import { startIngressProxy, type IngressProxy } from '../proxy/ingress.js';
import type { DnsRuntime } from './dns-runtime.js';

/** ProxyRuntime is the running proxies. */
export interface ProxyRuntime {
  egressPort: number | null;
  ingressPorts: number[];
  close(): Promise<void>;
}

/** startProxies starts what the profile asks for; on failure it closes what it started. */
export async function startProxies(opts: {
  profile: Profile;
  dns: DnsRuntime | null;
  log: Logger;
}): Promise<ProxyRuntime> {
  const { profile, dns, log } = opts;
  let egress: EgressProxy | null = null;
  const ingress: IngressProxy[] = [];
  const close = async (): Promise<void> => {
    await Promise.all([egress?.close(), ...ingress.map((i) => i.close())]);
  };
  try {
    if (profile.egress) {
      // Overlay names resolve through Warren's zone (only what policy lets this system reach);
      // everything else through the system resolver.
      const resolve = async (name: string): Promise<string[]> => {
        const own = dns?.resolve(name) ?? null;
        if (own !== null) return own;
        return (await lookup(name, { all: true, family: 4 })).map((a) => a.address);
      };
      egress = await startEgressProxy({
        host: '127.0.0.1',
        port: profile.egress.listenPort,
        rules: compileRules(profile.egress),
        resolve,
        log,
      });
      log.info(
        `egress proxy on 127.0.0.1:${egress.port} (${profile.egress.allow.length} allow, ${profile.egress.deny.length} deny)`,
      );
    }
    for (const i of profile.ingress) {
      ingress.push(
        await startIngressProxy({
          listenHost: profile.virtualAddress,
          listenPort: i.listenPort,
          targetPort: i.listenPort,
          log,
        }),
      );
      log.info(`ingress: ${profile.virtualAddress}:${i.listenPort} → 127.0.0.1:${i.listenPort}`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { egressPort: egress?.port ?? null, ingressPorts: profile.ingress.map((i) => i.listenPort), close };
}
