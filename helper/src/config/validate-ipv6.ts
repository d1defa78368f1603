// The profile's IPv6 keys: VirtualAddress6, VirtualNetwork6 and IPv6 entries in a peer's
// AllowedIPs (docs/profile.md). Kept apart from validate.ts so that the IPv4 keys' rules and
// messages stay exactly as they were: an old profile is read the same.
import {
  formatIp,
  formatIpPrefix,
  IPV6_IPV4_MAPPED,
  ipEquals,
  isLinkLocal,
  isLoopback,
  isUniqueLocal,
  isUnspecified,
  parseIp,
  parseIpPrefix,
  prefixContains,
  prefixIsCanonical,
  prefixNetwork,
  type IpAddress,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import { Issues, quote, typeName } from '../../../src-shared/lib/errors.js';
import { PROFILE_LIMITS } from './schema.js';

type Obj = Record<string, unknown>;

/** IPV6_MIN_MTU is the smallest link MTU IPv6 runs on (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;

/** ipv6MtuProblem says why an adapter MTU below IPV6_MIN_MTU cannot carry IPv6; callers add what to do. */
export function ipv6MtuProblem(mtu: number): string {
  return `${mtu} is below ${IPV6_MIN_MTU}, the minimum for IPv6 (RFC 8200 §5); raise Adapter.Mtu to ${IPV6_MIN_MTU} or more`;
}

/** ULA_DEFAULT_BITS is the default VirtualNetwork6 around a unique local VirtualAddress6: the
 * RFC 4193 /48 a coordinator draws for its network. */
const ULA_DEFAULT_BITS = 48;

const MULTICAST: IpPrefix = { addr: { family: 6, w0: 0xff000000, w1: 0, w2: 0, w3: 0 }, bits: 8 };

function text(obj: Obj, key: string, is: Issues): string | undefined {
  if (!Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  if (typeof v !== 'string' || v.length > PROFILE_LIMITS.stringChars) {
    is.add(key, `must be an IPv6 address in a string, not ${typeName(v)}`);
    return undefined;
  }
  return v;
}

/** unusableReason says why an address cannot be a system's own, or null if it can. */
function unusableReason(a: IpAddress): string | null {
  if (isUnspecified(a) || isLoopback(a)) return 'is the unspecified or loopback address';
  if (isLinkLocal(a)) return 'is link-local (fe80::/10); the kernel makes those itself';
  if (prefixContains(MULTICAST, a)) return 'is a multicast address (ff00::/8)';
  if (prefixContains(IPV6_IPV4_MAPPED, a)) return 'is IPv4-mapped (::ffff:0:0/96); put IPv4 in VirtualAddress';
  return null;
}

function address6(s: string, is: Issues): IpAddress | undefined {
  const a = parseIp(s);
  if (a === null || a.family !== 6) {
    is.add('VirtualAddress6', `${quote(s)} is not an IPv6 address (expected e.g. "fd12:3456:789a::6440:1")`);
    return undefined;
  }
  const why = unusableReason(a);
  if (why !== null) {
    is.add('VirtualAddress6', `${quote(s)} ${why}`);
    return undefined;
  }
  return a;
}

function network6(s: string, is: Issues): IpPrefix | undefined {
  const p = parseIpPrefix(s);
  if (p === null || p.addr.family !== 6) {
    is.add('VirtualNetwork6', `${quote(s)} is not an IPv6 prefix (expected e.g. "fd12:3456:789a::/48")`);
    return undefined;
  }
  if (!prefixIsCanonical(p)) {
    is.add('VirtualNetwork6', `${quote(s)} has host bits set (did you mean "${formatIpPrefix(prefixNetwork(p))}"?)`);
    return undefined;
  }
  // Wider than a /16 would take over routes the machine needs; narrower than /120 leaves no room.
  if (p.bits < 16 || p.bits > 120) {
    is.add('VirtualNetwork6', `${formatIpPrefix(p)}: the prefix length must be from 16 to 120`);
    return undefined;
  }
  return p;
}

/** Virtual6 is this system's IPv6 address and the prefix routed through the adapter, or nulls. */
export interface Virtual6 {
  address6: string | null;
  network6: IpPrefix | null;
}

/** virtual6Fields reads VirtualAddress6 and VirtualNetwork6. Both are optional; without
 * VirtualAddress6 the adapter stays IPv4 only. VirtualNetwork6 defaults to the /48 of a unique
 * local address (RFC 4193); any other address needs it given. */
export function virtual6Fields(raw: Obj, mtu: number | undefined, is: Issues): Virtual6 {
  const none: Virtual6 = { address6: null, network6: null };
  const aText = text(raw, 'VirtualAddress6', is);
  const nText = text(raw, 'VirtualNetwork6', is);
  const a = aText === undefined ? undefined : address6(aText, is);
  const n = nText === undefined ? undefined : network6(nText, is);
  if (aText === undefined) {
    if (nText !== undefined) is.add('VirtualNetwork6', "needs VirtualAddress6 (this system's IPv6 address in it)");
    return none;
  }
  if (a === undefined || (nText !== undefined && n === undefined)) return none;
  let net = n;
  if (net === undefined) {
    if (!isUniqueLocal(a)) {
      is.add('VirtualNetwork6', `is required when VirtualAddress6 (${formatIp(a)}) is not a unique local address`);
      return none;
    }
    net = prefixNetwork({ addr: a, bits: ULA_DEFAULT_BITS });
  }
  if (!prefixContains(net, a)) {
    is.add('VirtualAddress6', `${formatIp(a)} is outside VirtualNetwork6 ${formatIpPrefix(net)}`);
    return none;
  }
  if (ipEquals(prefixNetwork(net).addr, a)) {
    is.add(
      'VirtualAddress6',
      `${formatIp(a)} is the Subnet-Router anycast address of ${formatIpPrefix(net)} (RFC 4291 §2.6.1)`,
    );
    return none;
  }
  // IPv6 AllowedIPs alone do not need this: without VirtualAddress6 the adapter has IPv6 turned
  // off (tun-linux.ts), so no IPv6 packet crosses it whatever its MTU.
  if (mtu !== undefined && mtu < IPV6_MIN_MTU) {
    is.add('Adapter.Mtu', `${ipv6MtuProblem(mtu)}, or remove VirtualAddress6`);
    return none;
  }
  return { address6: formatIp(a), network6: net };
}

/** allowedIp6Value parses one IPv6 entry of a peer's AllowedIPs: a canonical prefix outside the
 * link-local and multicast ranges, which no peer can route. */
export function allowedIp6Value(s: string, path: string, is: Issues): IpPrefix | undefined {
  const p = parseIpPrefix(s);
  if (p === null || p.addr.family !== 6) {
    is.add(path, `${quote(s)} is not an IPv6 prefix (expected e.g. "fd12:3456:789a::6440:2/128")`);
    return undefined;
  }
  if (!prefixIsCanonical(p)) {
    is.add(path, `${quote(s)} has host bits set (did you mean "${formatIpPrefix(prefixNetwork(p))}"?)`);
    return undefined;
  }
  if ((p.bits >= 10 && isLinkLocal(p.addr)) || (p.bits >= 8 && prefixContains(MULTICAST, p.addr))) {
    is.add(path, `${quote(s)} is link-local or multicast, which cannot be routed to a peer`);
    return undefined;
  }
  return p;
}

/** looksIPv6 tells a value meant as IPv6 (it has a colon) from an IPv4 one. */
export function looksIPv6(v: unknown): v is string {
  return typeof v === 'string' && v.includes(':');
}
