// Profile validation: docs/profile.md "Keys". Every key is checked, all problems are collected,
// and only a fully valid profile comes out, typed and with defaults filled in.
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import {
  cidrContains,
  cidrIsCanonical,
  cidrNetwork,
  formatCidr,
  parseCidr,
  parseIPv4,
  prefixMask,
  type Cidr,
} from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpEndpoint, type IpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { isLinkLocal, isUnspecified, parseIp } from '../../../src-shared/lib/ip/addr.js';
import { isZeroKey, KeyFormatError, parseKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { dnsNamesField, policyFields, tagsField } from './validate-policy.js';
import { exitNodeField } from './validate-exitnode.js';
import { coordinatorField } from './validate-coordinator.js';
import { proxyFields } from './validate-proxy.js';
import {
  childPath,
  didYouMean,
  indexPath,
  isObject,
  Issues,
  ProfileError,
  quote,
  typeName,
} from '../../../src-shared/lib/errors.js';
import {
  ADAPTER_KEYS,
  PEER_KEYS,
  PROFILE_DEFAULTS,
  PROFILE_LIMITS,
  TOP_LEVEL_KEYS,
  type PeerConfig,
  type Profile,
} from './schema.js';
import { reservedFields } from './validate-reserved.js';
import { allowedIp6Value, looksIPv6, virtual6Fields } from './validate-ipv6.js';
import { formatIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';

type Obj = Record<string, unknown>;

/** validateProfile checks a parsed profile and returns its typed form, or throws ProfileError. */
export function validateProfile(raw: unknown, file: string): Profile {
  const is = new Issues();
  if (!isObject(raw)) {
    throw new ProfileError(file, [{ key: null, problem: `the top level must be a JSON object, not ${typeName(raw)}` }]);
  }
  checkKnownKeys(raw, TOP_LEVEL_KEYS, '', is);

  const privateKey = keyField(raw, 'PrivateKey', '', is, true);
  let publicKey: Buffer | null = null;
  if (privateKey) {
    if (isZeroKey(privateKey)) is.add('PrivateKey', 'is all zeros; make one with `warren genkey`');
    else publicKey = publicKeyFromPrivate(privateKey);
  }
  const listenPort = intField(raw, 'ListenPort', '', is, 0, 65535) ?? PROFILE_DEFAULTS.listenPort;
  const listenAddress = listenAddressField(raw, is) ?? PROFILE_DEFAULTS.listenAddress;
  const virtualAddress = addressField(raw, 'VirtualAddress', '', is, true);
  const virtualNetwork = networkField(raw, is);
  const adapter = adapterField(raw, is);
  const v6 = virtual6Fields(raw, adapter?.mtu, is);
  const policy = policyFields(raw, is);
  const exitNode = exitNodeField(raw, { v4: virtualNetwork, v6: v6.network6 }, is);
  const proxies = proxyFields(raw, is);
  const peers = peersField(raw, policy.dns.zone, is);
  const reserved = reservedFields(raw, is);
  const coordinator = coordinatorField(raw, is);

  if (virtualAddress !== undefined && virtualNetwork) checkVirtualAddress(virtualAddress, virtualNetwork, is);
  if (peers) checkPeersTogether(peers, publicKey, is);
  for (const a of exitNode.availableRoutes) {
    if (peers && !peers.some((p) => p.config.identity === a.identity)) {
      is.add(
        `ExitNode.AvailableRoutes.${a.identity}`,
        "no peer in Peers has this identity (`warren identity --public-key KEY` tells a key's)",
      );
    }
  }

  if (is.count > 0) throw new ProfileError(file, is.list);
  return {
    privateKey: privateKey!,
    publicKey: publicKey!,
    // Coordinated: the identity the coordinator issued (its maps then carry it); static, or
    // enrolled before identities were issued: the key's.
    identity: coordinator?.identity ?? identityFromPublicKey(publicKey!),
    listenPort,
    listenAddress,
    virtualAddress: virtualAddress!,
    virtualNetwork: virtualNetwork!,
    virtualAddress6: v6.address6,
    virtualNetwork6: v6.network6,
    adapter: adapter!,
    peers: peers!.map((p) => p.config),
    tags: policy.tags,
    policies: policy.policies,
    dns: policy.dns,
    exitNode,
    egress: proxies.egress,
    ingress: proxies.ingress,
    coordinator,
    routeGrants: coordinator ? [] : null,
    // Before the first network map a coordinated system is default deny, never allow-all.
    ...(coordinator ? { policies: policy.policies ?? [] } : {}),
    reserved,
  };
}

function checkKnownKeys(obj: Obj, known: readonly string[], parent: string, is: Issues): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) is.add(childPath(parent, k), `unknown key${didYouMean(k, known)}`);
  }
}

/** stringField returns obj[key] when it is a string within the length bound. */
function stringField(obj: Obj, key: string, parent: string, is: Issues, required = false): string | undefined {
  const path = childPath(parent, key);
  if (!Object.hasOwn(obj, key)) {
    if (required) is.add(path, 'is required');
    return undefined;
  }
  return stringValue(obj[key], path, is);
}

function stringValue(v: unknown, path: string, is: Issues): string | undefined {
  if (typeof v !== 'string') {
    is.add(path, `must be a string, not ${typeName(v)}`);
    return undefined;
  }
  if (v.length > PROFILE_LIMITS.stringChars) {
    is.add(path, `is ${v.length} characters long (the limit is ${PROFILE_LIMITS.stringChars})`);
    return undefined;
  }
  return v;
}

function intField(obj: Obj, key: string, parent: string, is: Issues, min: number, max: number): number | undefined {
  if (!Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const got = typeof v === 'number' ? String(v) : typeName(v);
    is.add(childPath(parent, key), `must be a whole number from ${min} to ${max}, not ${got}`);
    return undefined;
  }
  return v;
}

function keyField(obj: Obj, key: string, parent: string, is: Issues, required: boolean): Buffer | undefined {
  const s = stringField(obj, key, parent, is, required);
  if (s === undefined) return undefined;
  try {
    return parseKey(s);
  } catch (e) {
    // KeyFormatError never quotes the text: this may be a private key.
    if (!(e instanceof KeyFormatError)) throw e;
    is.add(childPath(parent, key), e.message);
    return undefined;
  }
}

function addressField(obj: Obj, key: string, parent: string, is: Issues, required = false): string | undefined {
  const s = stringField(obj, key, parent, is, required);
  if (s === undefined) return undefined;
  if (parseIPv4(s) === null) {
    is.add(childPath(parent, key), `${quote(s)} is not an IPv4 address (expected a.b.c.d)`);
    return undefined;
  }
  return s;
}

/** listenAddressField reads ListenAddress: an IPv4 or IPv6 literal ("::" is dual-stack). */
function listenAddressField(obj: Obj, is: Issues): string | undefined {
  const s = stringField(obj, 'ListenAddress', '', is);
  if (s === undefined) return undefined;
  const a = parseIp(s);
  if (a === null) {
    is.add('ListenAddress', `${quote(s)} is not an IP address (expected a.b.c.d, an IPv6 address, or "::" for both)`);
    return undefined;
  }
  if (a.family === 6 && isLinkLocal(a)) {
    is.add('ListenAddress', `${quote(s)} is link-local, which needs an interface Warren does not take; use "::"`);
    return undefined;
  }
  return s;
}

/** cidrValue parses a canonical IPv4 prefix, saying what is wrong otherwise. */
export function cidrValue(v: unknown, path: string, is: Issues): Cidr | undefined {
  const s = stringValue(v, path, is);
  if (s === undefined) return undefined;
  const c = parseCidr(s);
  if (!c && s.includes(':')) {
    is.add(path, `${quote(s)} is an IPv6 prefix; this key takes IPv4 prefixes only for now (a.b.c.d/n)`);
    return undefined;
  }
  if (!c) {
    is.add(path, `${quote(s)} is not an IPv4 CIDR (expected a.b.c.d/n)`);
    return undefined;
  }
  if (!cidrIsCanonical(c)) {
    is.add(path, `${quote(s)} has host bits set (did you mean "${formatCidr(cidrNetwork(c))}"?)`);
    return undefined;
  }
  return c;
}

function networkField(obj: Obj, is: Issues): Cidr | undefined {
  if (!Object.hasOwn(obj, 'VirtualNetwork')) return parseCidr(PROFILE_DEFAULTS.virtualNetwork)!;
  const c = cidrValue(obj.VirtualNetwork, 'VirtualNetwork', is);
  // Narrower than /30 leaves no room for peers; wider than /8 would swallow routes the machine needs.
  if (c && (c.bits < 8 || c.bits > 30)) {
    is.add('VirtualNetwork', `${formatCidr(c)}: the prefix length must be from 8 to 30`);
    return undefined;
  }
  return c;
}

function checkVirtualAddress(address: string, net: Cidr, is: Issues): void {
  const a = parseIPv4(address)!;
  if (!cidrContains(net, a)) {
    is.add('VirtualAddress', `${address} is outside VirtualNetwork ${formatCidr(net)}`);
  } else if (a === net.addr || a === (net.addr | ~prefixMask(net.bits)) >>> 0) {
    is.add('VirtualAddress', `${address} is the network or broadcast address of ${formatCidr(net)}`);
  }
}

function adapterField(obj: Obj, is: Issues): Profile['adapter'] | undefined {
  const fallback = { name: PROFILE_DEFAULTS.adapterName, mtu: PROFILE_DEFAULTS.adapterMtu, explicit: false };
  if (!Object.hasOwn(obj, 'Adapter')) return fallback;
  const a = obj.Adapter;
  if (!isObject(a)) {
    is.add('Adapter', `must be an object like {"Name": "warren0"}, not ${typeName(a)}`);
    return undefined;
  }
  checkKnownKeys(a, ADAPTER_KEYS, 'Adapter', is);
  const name = stringField(a, 'Name', 'Adapter', is);
  if (name !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    is.add('Adapter.Name', `${quote(name)} is not a device name (1-15 characters of A-Z a-z 0-9 _ . -)`);
  }
  // 576 is the smallest datagram every IPv4 host must accept (RFC 791); 65,535 is the most a
  // TUN device takes (and an IPv4 or IPv6 packet without jumbograms can be).
  const mtu = intField(a, 'Mtu', 'Adapter', is, 576, 65535);
  return { name: name ?? fallback.name, mtu: mtu ?? fallback.mtu, explicit: name !== undefined };
}

interface CheckedPeer {
  index: number;
  config: PeerConfig;
}

function peersField(obj: Obj, zone: string, is: Issues): CheckedPeer[] | undefined {
  if (!Object.hasOwn(obj, 'Peers')) return [];
  const list = obj.Peers;
  if (!Array.isArray(list)) {
    is.add('Peers', `must be an array of peers, not ${typeName(list)}`);
    return undefined;
  }
  if (list.length > PROFILE_LIMITS.peers) {
    is.add('Peers', `has ${list.length} peers (the limit is ${PROFILE_LIMITS.peers})`);
    return undefined;
  }
  // Invalid peers are left out but the valid ones still go through the cross-checks, so that
  // one run reports as much as it can.
  const out: CheckedPeer[] = [];
  list.forEach((p, i) => {
    const config = peerValue(p, indexPath('Peers', i), zone, is);
    if (config) out.push({ index: i, config });
  });
  return out;
}

function peerValue(p: unknown, path: string, zone: string, is: Issues): PeerConfig | undefined {
  if (!isObject(p)) {
    is.add(path, `must be an object with PublicKey and AllowedIPs, not ${typeName(p)}`);
    return undefined;
  }
  const before = is.count;
  checkKnownKeys(p, PEER_KEYS, path, is);
  const name = stringField(p, 'Name', path, is);
  if (name !== undefined && !/^[^\p{Cc}]{1,64}$/u.test(name)) {
    is.add(
      childPath(path, 'Name'),
      `${quote(name)} must be 1-${PROFILE_LIMITS.nameChars} characters without control characters`,
    );
  }
  const publicKey = keyField(p, 'PublicKey', path, is, true);
  if (publicKey && isZeroKey(publicKey)) is.add(childPath(path, 'PublicKey'), 'is all zeros');
  const presharedKey = keyField(p, 'PresharedKey', path, is, false);
  const endpoint = endpointField(p, path, is);
  const allowedIps = allowedIpsField(p, path, is);
  const persistentKeepalive =
    intField(p, 'PersistentKeepalive', path, is, 0, 65535) ?? PROFILE_DEFAULTS.persistentKeepalive;
  const tags = tagsField(p, 'Tags', path, is);
  const dnsNames = dnsNamesField(p, path, zone, is);
  if (is.count > before) return undefined;
  return {
    name: name ?? null,
    publicKey: publicKey!,
    identity: identityFromPublicKey(publicKey!),
    presharedKey: presharedKey ?? null,
    endpoint: endpoint ?? null,
    allowedIps: allowedIps!.v4,
    allowedIps6: allowedIps!.v6,
    persistentKeepalive,
    tags,
    dnsNames,
  };
}

function endpointField(p: Obj, parent: string, is: Issues): IpEndpoint | undefined {
  const s = stringField(p, 'Endpoint', parent, is);
  if (s === undefined) return undefined;
  const path = childPath(parent, 'Endpoint');
  const e = parseIpEndpoint(s);
  if (!e) {
    const why = !s.startsWith('[') && s.split(':').length > 2 ? '; write an IPv6 address in brackets' : '';
    is.add(path, `${quote(s)} is not an endpoint (expected a.b.c.d:port or [ipv6]:port, port 1-65535${why})`);
    return undefined;
  }
  if (e.addr.family === 6 && isLinkLocal(e.addr)) {
    // A link-local address means nothing without its interface (RFC 4007 §6), which the socket
    // layer here does not carry.
    is.add(path, `${quote(s)} is link-local (fe80::/10), which is not supported as an endpoint`);
    return undefined;
  }
  if (isUnspecified(e.addr) || (e.addr.family === 4 && e.addr.v4 === 0xffffffff)) {
    is.add(path, `${quote(s)} is not a destination a packet can be sent to`);
    return undefined;
  }
  return e;
}

function allowedIpsField(p: Obj, parent: string, is: Issues): { v4: Cidr[]; v6: IpPrefix[] } | undefined {
  const path = childPath(parent, 'AllowedIPs');
  if (!Object.hasOwn(p, 'AllowedIPs')) {
    is.add(path, 'is required (the addresses this peer may use, e.g. ["100.64.0.2/32"])');
    return undefined;
  }
  const list = p.AllowedIPs;
  if (!Array.isArray(list)) {
    is.add(path, `must be an array of CIDRs like ["100.64.0.2/32"], not ${typeName(list)}`);
    return undefined;
  }
  if (list.length > PROFILE_LIMITS.allowedIpsPerPeer) {
    is.add(path, `has ${list.length} entries (the limit is ${PROFILE_LIMITS.allowedIpsPerPeer})`);
    return undefined;
  }
  const out: { v4: Cidr[]; v6: IpPrefix[] } = { v4: [], v6: [] };
  const seen = new Map<string, number>();
  list.forEach((v, i) => {
    const v6 = looksIPv6(v) ? allowedIp6Value(v, indexPath(path, i), is) : undefined;
    const c = looksIPv6(v) ? undefined : cidrValue(v, indexPath(path, i), is);
    if (!c && !v6) return;
    const text = c ? formatCidr(c) : formatIpPrefix(v6!);
    const first = seen.get(text);
    if (first !== undefined) is.add(indexPath(path, i), `${text} is listed twice (also at [${first}])`);
    else seen.set(text, i);
    if (c) out.v4.push(c);
    else out.v6.push(v6!);
  });
  return out;
}

// Cross-peer checks. Overlapping prefixes are fine (longest prefix wins, as in WireGuard's
// cryptokey routing), but an exact duplicate would silently move the prefix to the later peer.
function checkPeersTogether(peers: CheckedPeer[], ownPublicKey: Buffer | null, is: Issues): void {
  const keys = new Map<string, number>();
  const prefixes = new Map<string, { peer: number; entry: string }>();
  for (const { index, config } of peers) {
    const keyPath = childPath(indexPath('Peers', index), 'PublicKey');
    const key = config.publicKey.toString('base64');
    const firstPeer = keys.get(key);
    if (ownPublicKey && config.publicKey.equals(ownPublicKey)) {
      is.add(keyPath, "is this profile's own public key (derived from PrivateKey); a system cannot be its own peer");
    } else if (firstPeer !== undefined) {
      is.add(keyPath, `is the same key as Peers[${firstPeer}].PublicKey (list each peer once)`);
    } else {
      keys.set(key, index);
    }
    const entries = [
      ...config.allowedIps.map((c, i) => [formatCidr(c), `[${i}]`] as const),
      // IPv6 entries are kept apart from IPv4 ones (schema.ts), so their position in the file is not known here.
      ...config.allowedIps6.map((c) => [formatIpPrefix(c), ''] as const),
    ];
    for (const [text, at] of entries) {
      const first = prefixes.get(text);
      if (first === undefined) prefixes.set(text, { peer: index, entry: at });
      else if (first.peer !== index) {
        is.add(
          `${childPath(indexPath('Peers', index), 'AllowedIPs')}${at}`,
          `${text} is already routed to Peers[${first.peer}] (AllowedIPs${first.entry}); a prefix belongs to one peer only`,
        );
      }
    }
  }
}
