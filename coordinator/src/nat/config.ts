// NAT traversal settings of `serve` and the map fields they make (control.ts NetworkMap
// discovery and relays): the UDP port (endpoint discovery and the embedded relay), the public
// address (IPv4 or IPv6) systems reach it at, the embedded relay's TCP listener and external relays.
import type { RelayInfo } from '../../../src-shared/wire/control.js';
import { ipv4Octets } from '../../../src-shared/wire/nat-wire.js';
import { RELAY_REGION } from '../../../src-shared/wire/nat-relay.js';
import { formatIp, isLoopback, parseIp } from '../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint, parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { unusableReason } from '../../../src-shared/lib/ip/underlay.js';
import type { MapNatFields } from '../maps/netmap.js';

/** MAX_RELAYS bounds the external relays (every map carries the list). */
export const MAX_RELAYS = 16;

/** EMBEDDED_RELAY_NAME is the name maps give the coordinator's own relay. */
export const EMBEDDED_RELAY_NAME = 'coordinator';

/** EXTERNAL_RELAY_NAME is what `--relay NAME,...` (and `relay-key NAME`) accept. */
export const EXTERNAL_RELAY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** concreteIpv4 returns host if it is one IPv4 address a system could send to (not the
 * wildcard 0.0.0.0 or broadcast), else null. */
export function concreteIpv4(host: string): string | null {
  const o = ipv4Octets(host);
  if (o === null) return null;
  if (o.every((b) => b === 0) || o.every((b) => b === 255)) return null;
  return o.join('.');
}

/** concreteIp returns host in canonical form if it is one IPv4 or IPv6 address a system could
 * send to (not a wildcard, broadcast, multicast, IPv6 link-local or mapped address), else null. */
export function concreteIp(host: string): string | null {
  if (!host.includes(':')) return concreteIpv4(host);
  const a = parseIp(host);
  // ::1 stays, as 127.0.0.1 does for IPv4: a coordinator and helpers on one host use it.
  return a === null || (unusableReason(a) !== null && !isLoopback(a)) ? null : formatIp(a);
}

/** parseIpv4Endpoint reads "a.b.c.d:port" with a concrete address and a port from 1. */
export function parseIpv4Endpoint(text: string): string | null {
  const m = /^([0-9.]{7,15}):([0-9]{1,5})$/.exec(text);
  if (!m) return null;
  const ip = concreteIpv4(m[1]!);
  const port = Number(m[2]);
  if (ip === null || port < 1 || port > 65535) return null;
  return `${ip}:${port}`;
}

/** parseConcreteEndpoint reads "a.b.c.d:port" or "[ipv6]:port" with a concrete address (see
 * concreteIp) and returns it in canonical form, or null. */
export function parseConcreteEndpoint(text: string): string | null {
  if (!text.startsWith('[')) return parseIpv4Endpoint(text);
  const e = parseIpEndpoint(text);
  return e === null || concreteIp(formatIp(e.addr)) === null ? null : formatIpEndpoint(e);
}

/** hostPort writes an address of either family and a port as an endpoint. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** parseRelayFlag reads `--relay NAME,udp=HOST:PORT,tcp=HOST:PORT,region=REGION` (udp and tcp
 * optional but at least one given, region optional: `warren-relay --region` of that relay, IPv4 or [IPv6] literals only: a map is signed, so what it names must not
 * depend on a resolver the helper may not trust). */
export function parseRelayFlag(text: string): RelayInfo | { problem: string } {
  const shape =
    'expected NAME,udp=IP:PORT,tcp=IP:PORT,region=REGION (either of udp and tcp, and region, may be left out)';
  const parts = text.split(',');
  const name = parts[0]!.trim();
  if (!EXTERNAL_RELAY_NAME.test(name))
    return {
      problem: `${JSON.stringify(name.slice(0, 40))} is not a relay name (1-32 letters, digits, "_", "." or "-"); ${shape}`,
    };
  if (name === EMBEDDED_RELAY_NAME)
    return { problem: `the name "${EMBEDDED_RELAY_NAME}" is the embedded relay's; choose another` };
  const out: RelayInfo = { name };
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (eq < 0 || (k !== 'udp' && k !== 'tcp' && k !== 'region'))
      return {
        problem: `${JSON.stringify(part.slice(0, 60))} is none of udp=IP:PORT, tcp=IP:PORT and region=REGION; ${shape}`,
      };
    if (out[k] !== undefined) return { problem: `${k}= is given twice` };
    if (k === 'region') {
      if (!RELAY_REGION.test(v))
        return { problem: `region=${v.slice(0, 40)} is not a region (1-32 letters, digits, "_", "." or "-")` };
      out.region = v;
      continue;
    }
    const ep = parseConcreteEndpoint(v);
    if (ep === null)
      return {
        problem: `${k}=${v.slice(0, 60)} is not an address and port (like 203.0.113.7:3478 or [2001:db8::7]:3478)`,
      };
    out[k] = ep;
  }
  if (out.udp === undefined && out.tcp === undefined)
    return { problem: `relay ${name} has neither udp= nor tcp=; ${shape}` };
  return out;
}

/** NatMapInput is what natMapFields needs to know. */
export interface NatMapInput {
  /** publicIp: the address (IPv4 or IPv6) systems reach the coordinator's UDP (and relay TCP) port at. */
  publicIp: string | null;
  /** publicIp6: an IPv6 address beside an IPv4 publicIp, or null. */
  publicIp6?: string | null;
  udpPort: number;
  /** embedded is the embedded relay (null when disabled), with its TCP port if it has one and
   * its region, listed as a warren-relay's is (RelayInfo.region). */
  embedded: { tcpPort: number | null; region?: string } | null;
  external: readonly RelayInfo[];
}

/** natMapFields makes the fields every map carries. Without a public address the coordinator
 * cannot name its own UDP port, so discovery and the embedded relay are left out. */
export function natMapFields(i: NatMapInput): MapNatFields {
  const relays: RelayInfo[] = [];
  // The other family's address goes in additive fields: old helpers read only discovery, udp
  // and tcp (the IPv4 ones when there are both), and skip fields they do not know.
  const six = i.publicIp !== null && !i.publicIp.includes(':') ? (i.publicIp6 ?? null) : null;
  if (i.publicIp !== null && i.embedded !== null) {
    const tcpPort = i.embedded.tcpPort;
    relays.push({
      name: EMBEDDED_RELAY_NAME,
      udp: hostPort(i.publicIp, i.udpPort),
      ...(i.embedded.region !== undefined ? { region: i.embedded.region } : {}),
      ...(tcpPort !== null ? { tcp: hostPort(i.publicIp, tcpPort) } : {}),
      ...(six !== null ? { udp6: hostPort(six, i.udpPort) } : {}),
      ...(six !== null && tcpPort !== null ? { tcp6: hostPort(six, tcpPort) } : {}),
    });
  }
  relays.push(...i.external.map((r) => ({ ...r })));
  return {
    ...(i.publicIp !== null ? { discovery: hostPort(i.publicIp, i.udpPort) } : {}),
    ...(six !== null ? { discovery6: hostPort(six, i.udpPort) } : {}),
    ...(relays.length > 0 ? { relays } : {}),
  };
}
