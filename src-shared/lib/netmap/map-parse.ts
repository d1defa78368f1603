// parseNetworkMap checks a network map's JSON field by field before anything uses it. The map
// is signed, but the helper runs as root and a coordinator bug must not become a helper crash,
// so every field is typed, bounded and normalised here (src-shared/wire/control.ts is the contract).
import { formatIpEndpoint, parseIpEndpoint } from '../ip/endpoint.js';
import {
  CONTROL_PROTOCOL,
  COORDINATOR_URLS_MAX,
  type MapPeer,
  type NetworkMap,
  type RelayInfo,
  type SelfSignIn,
  SIGN_IN_LIMITS,
} from '../../wire/control.js';
import { coordinatorUrlProblem } from '../coordinator-url.js';
import { DAYS, type Acl, type Day, type Policy, type TrustRequirement } from '../../wire/policy.js';
import { parseCidr, parseIPv4 } from '../ip/ipv4.js';
import { parseKey } from '../keys.js';
import { isIdentity } from '../identity.js';
import { formatIp, formatIpPrefix, parseIp, parseIpPrefix, prefixContains, type IpPrefix } from '../ip/addr.js';
import { RELAY_REGION } from '../../wire/nat-relay.js';

/** MAP_LIMITS bound what one map may hold. */
export const MAP_LIMITS = { peers: 10000, policies: 10000, listItems: 1000, stringChars: 256 } as const;

/** MapFormatError says which field of a map is wrong. */
export class MapFormatError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MapFormatError(`${path}: expected an object`);
  return v as Obj;
}

function str(v: unknown, path: string, re?: RegExp): string {
  if (typeof v !== 'string' || v.length > MAP_LIMITS.stringChars || (re && !re.test(v)))
    throw new MapFormatError(`${path}: bad string`);
  return v;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new MapFormatError(`${path}: expected a whole number ${min}..${max}`);
  return v;
}

function list<T>(
  v: unknown,
  path: string,
  each: (x: unknown, p: string) => T,
  max: number = MAP_LIMITS.listItems,
): T[] {
  if (!Array.isArray(v) || v.length > max) throw new MapFormatError(`${path}: expected an array of at most ${max}`);
  return v.map((x, i) => each(x, `${path}[${i}]`));
}

const coordinatorUrl = (v: unknown, p: string): string => {
  const s = str(v, p);
  const problem = coordinatorUrlProblem(s);
  if (problem !== null) throw new MapFormatError(`${p}: ${problem}`);
  return s;
};
const ipv4 = (v: unknown, p: string): string => {
  const s = str(v, p);
  if (parseIPv4(s) === null) throw new MapFormatError(`${p}: not an IPv4 address`);
  return s;
};
const cidr = (v: unknown, p: string): string => {
  const s = str(v, p);
  if (parseCidr(s) === null) throw new MapFormatError(`${p}: not an IPv4 CIDR`);
  return s;
};
// route: an exit-node route, an IPv4 or IPv6 prefix, returned in canonical form (RFC 5952 §4).
const route = (v: unknown, p: string): string => {
  const s = str(v, p);
  const r = parseIpPrefix(s);
  if (r === null) throw new MapFormatError(`${p}: not an IPv4 or IPv6 CIDR`);
  return formatIpPrefix(r);
};
// endpoint: "a.b.c.d:port" or "[ipv6]:port" (RFC 5952 §6), returned in canonical form.
const endpoint = (v: unknown, p: string): string => {
  const s = str(v, p);
  const e = parseIpEndpoint(s);
  if (e === null) throw new MapFormatError(`${p}: not an a.b.c.d:port or [ipv6]:port endpoint`);
  return formatIpEndpoint(e);
};
// endpoint6: an endpoint that must be "[ipv6]:port" (the other family's field of a dual-stack
// coordinator: discovery6, a relay's udp6 and tcp6).
const endpoint6 = (v: unknown, p: string): string => {
  const s = endpoint(v, p);
  if (!s.startsWith('[')) throw new MapFormatError(`${p}: not an [ipv6]:port endpoint`);
  return s;
};
// relay: one RelayInfo; a relay with neither transport is useless and refused.
const relay = (v: unknown, p: string): RelayInfo => {
  const o = obj(v, p);
  const r: RelayInfo = { name: str(o.name, `${p}.name`, /^[A-Za-z0-9_.-]{1,64}$/) };
  if (o.udp !== undefined) r.udp = endpoint(o.udp, `${p}.udp`);
  if (o.tcp !== undefined) r.tcp = endpoint(o.tcp, `${p}.tcp`);
  if (o.udp6 !== undefined) r.udp6 = endpoint6(o.udp6, `${p}.udp6`);
  if (o.tcp6 !== undefined) r.tcp6 = endpoint6(o.tcp6, `${p}.tcp6`);
  if (o.region !== undefined) r.region = str(o.region, `${p}.region`, RELAY_REGION);
  if (!r.udp && !r.tcp) throw new MapFormatError(`${p}: a relay needs udp or tcp`);
  return r;
};
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
// Identities are the coordinator's issued ones (control.ts EnrolResponse): the firewall, DNS and
// status use them as they come, so anything but 5 Crockford base32 characters is refused.
const identity = (v: unknown, p: string): string => {
  const s = str(v, p);
  if (!isIdentity(s)) throw new MapFormatError(`${p}: not an identity (5 characters of Crockford base32)`);
  return s;
};
const tag = (v: unknown, p: string): string => str(v, p, LABEL);
const dnsName = (v: unknown, p: string): string => str(v, p, NAME);
const key = (v: unknown, p: string): string => {
  const s = str(v, p);
  try {
    parseKey(s);
  } catch {
    throw new MapFormatError(`${p}: not a base64 key`);
  }
  return s;
};

/** network6 reads map.virtualNetwork6: an RFC 4193 unique local /48 (fdXX:XXXX:XXXX::/48), the
 * only shape the coordinator draws; anything else is refused rather than routed. */
function network6(v: unknown, p: string): IpPrefix {
  const pre = parseIpPrefix(str(v, p));
  const ok =
    pre !== null &&
    pre.addr.family === 6 &&
    pre.bits === 48 &&
    pre.addr.w0 >>> 24 === 0xfd &&
    (pre.addr.w1 & 0xffff) === 0 &&
    pre.addr.w2 === 0 &&
    pre.addr.w3 === 0;
  if (!ok) throw new MapFormatError(`${p}: not a unique local /48 (fdXX:XXXX:XXXX::/48)`);
  return pre;
}

/** address6 reads a system's IPv6 address, which must lie inside the network's /48: an address
 * outside it would route another network's (or the internet's) traffic into the overlay.
 * The text is returned canonical (RFC 5952). */
function address6(v: unknown, p: string, net: IpPrefix | null): string {
  const a = parseIp(str(v, p));
  if (a === null || a.family !== 6) throw new MapFormatError(`${p}: not an IPv6 address`);
  if (net === null) throw new MapFormatError(`${p}: an IPv6 address in a map without virtualNetwork6`);
  if (!prefixContains(net, a)) throw new MapFormatError(`${p}: ${formatIp(a)} is outside ${formatIpPrefix(net)}`);
  return formatIp(a);
}

function peer(v: unknown, p: string, net6: IpPrefix | null): MapPeer {
  const o = obj(v, p);
  return {
    ...(o.virtualAddress6 !== undefined
      ? { virtualAddress6: address6(o.virtualAddress6, `${p}.virtualAddress6`, net6) }
      : {}),
    identity: identity(o.identity, `${p}.identity`),
    name: str(o.name, `${p}.name`, /^[^\p{Cc}]{1,64}$/u),
    publicKey: key(o.publicKey, `${p}.publicKey`),
    virtualAddress: ipv4(o.virtualAddress, `${p}.virtualAddress`),
    endpoints: list(o.endpoints, `${p}.endpoints`, endpoint, 16),
    tags: list(o.tags, `${p}.tags`, tag),
    dnsNames: list(o.dnsNames, `${p}.dnsNames`, dnsName),
    providesRoutes: list(o.providesRoutes, `${p}.providesRoutes`, route),
    online: o.online === true,
  };
}

function acl(v: unknown, p: string): Acl {
  const o = obj(v, p);
  const protocol = str(o.protocol, `${p}.protocol`, /^(any|tcp|udp|icmp)$/) as Acl['protocol'];
  const ports = list(o.ports, `${p}.ports`, (x, q) => {
    const r = obj(x, q);
    const from = int(r.from, `${q}.from`, 1, 65535);
    const to = int(r.to, `${q}.to`, from, 65535);
    return { from, to };
  });
  return { protocol, ports };
}

function requirement(v: unknown, p: string): TrustRequirement {
  const o = obj(v, p);
  if (o.type === 'schedule') {
    const time = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
    const timeZone = str(o.timeZone, `${p}.timeZone`, /^[A-Za-z0-9_+\-/]{1,64}$/);
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch {
      throw new MapFormatError(`${p}.timeZone: unknown time zone`);
    }
    return {
      type: 'schedule',
      days: list(
        o.days,
        `${p}.days`,
        (x, q) => {
          if (!DAYS.includes(x as Day)) throw new MapFormatError(`${q}: not a day`);
          return x as Day;
        },
        7,
      ),
      from: str(o.from, `${p}.from`, time),
      to: str(o.to, `${p}.to`, time),
      timeZone,
    };
  }
  if (o.type === 'public-ip') return { type: 'public-ip', ranges: list(o.ranges, `${p}.ranges`, cidr) };
  throw new MapFormatError(`${p}.type: unknown trust requirement`);
}

function policy(v: unknown, p: string): Policy {
  const o = obj(v, p);
  const selector = (x: unknown, q: string): string => {
    const s = str(x, q);
    if (!isIdentity(s) && !/^tag:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s))
      throw new MapFormatError(`${q}: not an identity or tag selector`);
    return s;
  };
  return {
    name: str(o.name, `${p}.name`),
    senders: list(o.senders, `${p}.senders`, selector, MAP_LIMITS.peers),
    receivers: list(o.receivers, `${p}.receivers`, selector, MAP_LIMITS.peers),
    acls: list(o.acls, `${p}.acls`, acl),
    trustRequirements: list(o.trustRequirements, `${p}.trustRequirements`, requirement),
    enabled: o.enabled === true,
    ...(o.via === undefined ? {} : { via: via(o.via, `${p}.via`) }),
  };
}

/** via reads a policy's people explanation: identities to short printable text. */
function via(v: unknown, p: string): Record<string, string> {
  const o = obj(v, p);
  const keys = Object.keys(o);
  if (keys.length > MAP_LIMITS.peers) throw new MapFormatError(`${p}: too many entries`);
  const out: Record<string, string> = {};
  for (const k of keys) out[identity(k, `${p} key`)] = str(o[k], `${p}.${k}`, /^[\x20-\x7e]{1,256}$/);
  return out;
}

/** uniquePeers refuses a map in which two systems share an identity: policies, routes and DNS
 * name systems by identity, so a shared one would hand one system's grants to another. */
function uniquePeers(self: string, peers: MapPeer[]): MapPeer[] {
  const seen = new Set([self]);
  peers.forEach((p, i) => {
    if (seen.has(p.identity))
      throw new MapFormatError(`map.peers[${i}].identity: ${p.identity} is also another system's in this map`);
    seen.add(p.identity);
  });
  return peers;
}

/** signInOf reads map.self.signIn. It only informs the person (status, the app), so a malformed
 * one is left out rather than refusing a map that is otherwise fine; texts are printable and
 * bounded (SIGN_IN_LIMITS), times whole milliseconds. */
function signInOf(v: unknown): { signIn?: SelfSignIn } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const o = v as Obj;
  const time = (t: unknown): t is number => typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;
  const text = (t: unknown, max: number): t is string =>
    typeof t === 'string' && t.length <= max && /^[^\p{Cc}\p{Cf}\s]+$/u.test(t);
  if (!text(o.user, SIGN_IN_LIMITS.userChars) || !text(o.authority, SIGN_IN_LIMITS.authorityChars)) return {};
  if (!time(o.authenticatedAt) || (o.expiresAt !== undefined && !time(o.expiresAt))) return {};
  return {
    signIn: {
      user: o.user,
      authority: o.authority,
      authenticatedAt: o.authenticatedAt,
      ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}),
    },
  };
}

/** parseNetworkMap validates the decoded JSON of a map. */
export function parseNetworkMap(v: unknown): NetworkMap {
  const o = obj(v, 'map');
  if (o.protocol !== CONTROL_PROTOCOL)
    throw new MapFormatError(
      `map.protocol: this helper speaks ${CONTROL_PROTOCOL}, the map says ${String(o.protocol).slice(0, 16)}`,
    );
  const self = obj(o.self, 'map.self');
  const selfIdentity = identity(self.identity, 'map.self.identity');
  const routesObj = obj(o.routes, 'map.routes');
  const routes: Record<string, string[]> = {};
  for (const [k, r] of Object.entries(routesObj).slice(0, MAP_LIMITS.peers)) {
    routes[identity(k, 'map.routes key')] = list(r, `map.routes.${k}`, route);
  }
  const routeGrants: Record<string, string[]> = {};
  if (o.routeGrants !== undefined) {
    for (const [k, r] of Object.entries(obj(o.routeGrants, 'map.routeGrants')).slice(0, MAP_LIMITS.peers)) {
      routeGrants[identity(k, 'map.routeGrants key')] = list(r, `map.routeGrants.${k}`, route);
    }
  }
  const relays = o.relays === undefined ? [] : list(o.relays, 'map.relays', relay, 8);
  const net6 = o.virtualNetwork6 === undefined ? null : network6(o.virtualNetwork6, 'map.virtualNetwork6');
  return {
    ...(net6 !== null ? { virtualNetwork6: formatIpPrefix(net6) } : {}),
    protocol: CONTROL_PROTOCOL,
    routeGrants,
    ...(o.discovery !== undefined ? { discovery: endpoint(o.discovery, 'map.discovery') } : {}),
    ...(o.discovery6 !== undefined ? { discovery6: endpoint6(o.discovery6, 'map.discovery6') } : {}),
    relays,
    ...(o.coordinators !== undefined
      ? { coordinators: list(o.coordinators, 'map.coordinators', coordinatorUrl, COORDINATOR_URLS_MAX) }
      : {}),
    version: int(o.version, 'map.version', 0, Number.MAX_SAFE_INTEGER),
    generatedAt: int(o.generatedAt, 'map.generatedAt', 0, Number.MAX_SAFE_INTEGER),
    systemId: str(o.systemId, 'map.systemId', /^[A-Za-z0-9_-]{1,64}$/),
    self: {
      identity: selfIdentity,
      name: str(self.name, 'map.self.name', /^[^\p{Cc}]{1,64}$/u),
      virtualAddress: ipv4(self.virtualAddress, 'map.self.virtualAddress'),
      ...(self.virtualAddress6 !== undefined
        ? { virtualAddress6: address6(self.virtualAddress6, 'map.self.virtualAddress6', net6) }
        : {}),
      tags: list(self.tags, 'map.self.tags', tag),
      dnsNames: list(self.dnsNames, 'map.self.dnsNames', dnsName),
      providesRoutes: list(self.providesRoutes, 'map.self.providesRoutes', route),
      ...signInOf(self.signIn),
    },
    virtualNetwork: cidr(o.virtualNetwork, 'map.virtualNetwork'),
    dnsZone: dnsName(o.dnsZone, 'map.dnsZone'),
    peers: uniquePeers(
      selfIdentity,
      list(o.peers, 'map.peers', (x, q) => peer(x, q, net6), MAP_LIMITS.peers),
    ),
    policies: list(o.policies, 'map.policies', policy, MAP_LIMITS.policies),
    routes,
  };
}
