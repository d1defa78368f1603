// The parts of a map that depend on one system or on the coordinator alone, not on the
// policy: where a system may be reached, the route subnets' order, and the NAT traversal
// fields every map carries alike (control.ts NetworkMap).
import { observedEndpoint } from '../../../src-shared/lib/ip/underlay.js';
import { CONTROL_LIMITS, type RelayInfo } from '../../../src-shared/wire/control.js';
import { comparePrefix, formatIpPrefix, parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { LiveSystem } from '../store/registry.js';

/** FULL_TUNNELS are the full tunnel of each family (canonical text, as the policy parser writes it). */
export const FULL_TUNNELS = ['0.0.0.0/0', '::/0'];

// sortCidrs orders route subnets (canonical IPv4 or IPv6 text, checked by the policy file's
// parser): IPv4 first, then by address and length, so that maps are stable.
export function sortCidrs(list: string[]): string[] {
  const parsed = list.map((x) => parseIpPrefix(x)!).sort(comparePrefix);
  return parsed.map(formatIpPrefix);
}

/** endpointsOf lists where a system may be reached, best first: the UDP mapping its discovery
 * request was seen from (exactly its WireGuard socket's public address), then the observed
 * address, IPv4 or IPv6, with the reported listen port (not a loopback or link-local one: it
 * would point peers at themselves or at nothing), then the reported endpoints of either family
 * ([ipv6]:port). */
export function endpointsOf(s: LiveSystem): string[] {
  const out: string[] = [];
  if (s.observedUdp !== null) out.push(s.observedUdp);
  const e = s.observedIp === null || s.listenPort === null ? null : observedEndpoint(s.observedIp, s.listenPort);
  if (e !== null && !out.includes(e)) out.push(e);
  for (const e of s.reported) if (!out.includes(e)) out.push(e);
  return out.slice(0, CONTROL_LIMITS.endpointsPerSystem);
}

/** MapNatFields are the NAT traversal fields every map carries alike (control.ts NetworkMap
 * discovery and relays). */
export interface MapNatFields {
  discovery?: string;
  discovery6?: string;
  relays?: RelayInfo[];
  /** coordinators are the URLs of every coordinator on the same database (control.ts). */
  coordinators?: string[];
}

/** natFieldsJson renders MapNatFields once as `"discovery":...,"relays":[...],` (or ''), so
 * maps pay a string join for them, not a JSON.stringify each. */
export function natFieldsJson(f: MapNatFields): string {
  let out = '';
  if (f.discovery !== undefined) out += `"discovery":${JSON.stringify(f.discovery)},`;
  if (f.discovery6 !== undefined) out += `"discovery6":${JSON.stringify(f.discovery6)},`;
  if (f.relays !== undefined && f.relays.length > 0) out += `"relays":${JSON.stringify(f.relays)},`;
  if (f.coordinators !== undefined && f.coordinators.length > 0)
    out += `"coordinators":${JSON.stringify(f.coordinators)},`;
  return out;
}
