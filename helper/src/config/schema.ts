// The profile's typed form and its limits: docs/profile.md is the contract.
import { formatCidr, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIpEndpoint, type IpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { formatKey } from '../../../src-shared/lib/keys.js';
import { formatIp, formatIpPrefix, prefixContains, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { SelfSignIn } from '../../../src-shared/wire/control.js';
import type { Policy } from '../../../src-shared/wire/policy.js';
import type { DnsConfig } from './validate-policy.js';
import type { ExitNodeConfig } from './validate-exitnode.js';
import type { EgressConfig } from './validate-proxy.js';
import type { CoordinatorConfig } from './validate-coordinator.js';

/** DEFAULT_PROFILE_PATH is where `warren run` looks without --profile or WARREN_PROFILE. */
export const DEFAULT_PROFILE_PATH = '/etc/warren/profiles/Universe.profile';

/** PROFILE_LIMITS bound what a profile may hold; the helper runs as root and reads it first. */
export const PROFILE_LIMITS = {
  fileBytes: 1024 * 1024,
  peers: 10000,
  allowedIpsPerPeer: 1000,
  stringChars: 256,
  nameChars: 64,
} as const;

/** PROFILE_DEFAULTS are the values of optional keys that are absent. */
export const PROFILE_DEFAULTS = {
  listenPort: 51820,
  // Dual-stack: IPv4 and IPv6 peers on one socket (0.0.0.0 where the system has no IPv6).
  listenAddress: '::',
  virtualNetwork: '100.64.0.0/10',
  adapterName: 'warren0',
  adapterMtu: 1420,
  persistentKeepalive: 0,
} as const;

/** RESERVED_KEYS are accepted for later parts and kept raw; the value says its JSON shape. */
export const RESERVED_KEYS = {
  Coordinator: 'object',
  Policies: 'array',
  Tags: 'array',
  ExitNode: 'object',
  Dns: 'object',
  Egress: 'object',
  Ingress: 'array',
  Metrics: 'object',
} as const;

/** ReservedKey names a top-level key reserved for later parts. */
export type ReservedKey = keyof typeof RESERVED_KEYS;

/** TOP_LEVEL_KEYS, PEER_KEYS and ADAPTER_KEYS are every key a profile may hold, by object. */
export const TOP_LEVEL_KEYS = [
  'PrivateKey',
  'ListenPort',
  'ListenAddress',
  'VirtualAddress',
  'VirtualNetwork',
  'VirtualAddress6',
  'VirtualNetwork6',
  'Adapter',
  'Peers',
  ...(Object.keys(RESERVED_KEYS) as ReservedKey[]),
] as const;
export const PEER_KEYS = [
  'Name',
  'PublicKey',
  'PresharedKey',
  'Endpoint',
  'AllowedIPs',
  'PersistentKeepalive',
  'Tags',
  'DnsNames',
] as const;

/** ACTIVE_RESERVED_KEYS are the reserved keys this version interprets (the rest wait). */
export const ACTIVE_RESERVED_KEYS: readonly ReservedKey[] = [
  'Coordinator',
  'Policies',
  'Tags',
  'Dns',
  'ExitNode',
  'Egress',
  'Ingress',
  'Metrics',
];
export const ADAPTER_KEYS = ['Name', 'Mtu'] as const;

/** PeerConfig is one static peer, normalised. */
export interface PeerConfig {
  name: string | null;
  publicKey: Buffer;
  /** identity is derived from publicKey in a static profile; in coordinated mode it is the one
   * the coordinator issued (the network map's). */
  identity: string;
  presharedKey: Buffer | null;
  /** endpoint is a.b.c.d:port or [ipv6]:port in the file. */
  endpoint: IpEndpoint | null;
  /** allowedIps are canonical IPv4 prefixes (no host bits), in file order. */
  allowedIps: Cidr[];
  /** allowedIps6 are the IPv6 entries of AllowedIPs (canonical), in file order: kept apart so
   * that everything keyed on IPv4 prefixes (firewall, exit routes, status) reads as before. */
  allowedIps6: IpPrefix[];
  persistentKeepalive: number;
  /** tags are bare tag names (no `tag:`), lowercase. */
  tags: string[];
  /** dnsNames are names relative to the DNS zone, lowercase. */
  dnsNames: string[];
}

/** AdapterConfig is the TUN device's name and MTU. */
export interface AdapterConfig {
  name: string;
  mtu: number;
  /** explicit says the profile sets Adapter.Name. Without it the helper takes the next free
   * warrenN when warren0 belongs to another program (tun/pick-name.ts). */
  explicit: boolean;
}

/** Profile is a validated profile with defaults filled in and derived values added. */
export interface Profile {
  privateKey: Buffer;
  /** publicKey is derived from privateKey. */
  publicKey: Buffer;
  /** identity is derived from publicKey in static mode; in coordinated mode it is the one the
   * coordinator issued (Coordinator.Identity, then each network map's self.identity). */
  identity: string;
  listenPort: number;
  listenAddress: string;
  /** virtualAddress is canonical a.b.c.d; parseIPv4 gives its number. */
  virtualAddress: string;
  virtualNetwork: Cidr;
  /** virtualAddress6 is this system's IPv6 address (RFC 5952 text), or null: IPv4 only. In
   * coordinated mode it comes from enrolment (EnrolResponse.virtualAddress6). */
  virtualAddress6: string | null;
  /** virtualNetwork6 is the IPv6 prefix routed through the adapter (the network's ULA /48), set
   * exactly when virtualAddress6 is. */
  virtualNetwork6: IpPrefix | null;
  adapter: AdapterConfig;
  peers: PeerConfig[];
  /** tags are this system's own tags (bare names). */
  tags: string[];
  /** policies is null without a Policies key: static mode then allows all between peers. */
  policies: Policy[] | null;
  dns: DnsConfig;
  exitNode: ExitNodeConfig;
  /** egress is the egress proxy's configuration, or null without an Egress key. */
  egress: EgressConfig | null;
  ingress: Array<{ listenPort: number }>;
  /** routeGrants (coordinated mode) lists which peers may use which provided subnets; null in
   * static mode, where reaching the exit node by policy grants its subnets. */
  routeGrants: Array<{ identity: string; routes: IpPrefix[] }> | null;
  /** coordinator is set in coordinated mode: peers, policies and tags then come from its maps. */
  coordinator: CoordinatorConfig | null;
  /** signIn is this system's user's sign-in as the coordinator's map last told it (coordinated
   * mode, a system enrolled by signing in); null or absent otherwise. Never in the file. */
  signIn?: SelfSignIn | null;
  /** reserved holds the later parts' keys exactly as written, only those present. */
  reserved: Partial<Record<ReservedKey, unknown>>;
}

/** ProfileJson is the file's shape, for writing profiles (init, add-peer, toProfileJson). */
export interface ProfileJson {
  PrivateKey: string;
  ListenPort?: number;
  ListenAddress?: string;
  VirtualAddress: string;
  VirtualNetwork?: string;
  VirtualAddress6?: string;
  VirtualNetwork6?: string;
  Adapter?: { Name?: string; Mtu?: number };
  Peers?: PeerJson[];
  [reserved: string]: unknown;
}

/** PeerJson is one entry of the file's Peers array. */
export interface PeerJson {
  Name?: string;
  PublicKey: string;
  PresharedKey?: string;
  Endpoint?: string;
  AllowedIPs: string[];
  PersistentKeepalive?: number;
  Tags?: string[];
  DnsNames?: string[];
}

/** toProfileJson writes a profile back in file form, defaults spelled out. */
export function toProfileJson(p: Profile): ProfileJson {
  const out: ProfileJson = {
    PrivateKey: formatKey(p.privateKey),
    ListenPort: p.listenPort,
    ListenAddress: p.listenAddress,
    VirtualAddress: p.virtualAddress,
    VirtualNetwork: formatCidr(p.virtualNetwork),
    ...(p.virtualAddress6 !== null && p.virtualNetwork6 !== null
      ? { VirtualAddress6: p.virtualAddress6, VirtualNetwork6: formatIpPrefix(p.virtualNetwork6) }
      : {}),
    // A name the profile left out stays out: written back, it would stop the fallback to warren1...
    Adapter: p.adapter.explicit ? { Name: p.adapter.name, Mtu: p.adapter.mtu } : { Mtu: p.adapter.mtu },
    Peers: p.peers.map(peerToJson),
  };
  for (const [k, v] of Object.entries(p.reserved)) out[k] = v;
  return out;
}

function peerToJson(peer: PeerConfig): PeerJson {
  const out: PeerJson = {
    PublicKey: formatKey(peer.publicKey),
    AllowedIPs: [...peer.allowedIps.map(formatCidr), ...peer.allowedIps6.map(formatIpPrefix)],
  };
  if (peer.name !== null) out.Name = peer.name;
  if (peer.presharedKey !== null) out.PresharedKey = formatKey(peer.presharedKey);
  if (peer.endpoint !== null) out.Endpoint = formatIpEndpoint(peer.endpoint);
  out.PersistentKeepalive = peer.persistentKeepalive;
  if (peer.tags.length > 0) out.Tags = [...peer.tags];
  if (peer.dnsNames.length > 0) out.DnsNames = [...peer.dnsNames];
  return out;
}

/** peerAddress6 is a peer's IPv6 overlay address: the /128 of its allowed IPs inside the overlay
 * prefix (a coordinated peer's map address), else its first IPv6 /128, else null. */
export function peerAddress6(pc: PeerConfig, network6: IpPrefix | null): string | null {
  const hosts = pc.allowedIps6.filter((c) => c.bits === 128);
  const inside = network6 === null ? undefined : hosts.find((c) => prefixContains(network6, c.addr));
  const h = inside ?? hosts[0];
  return h === undefined ? null : formatIp(h.addr);
}
