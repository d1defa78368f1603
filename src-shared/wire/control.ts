// Control plane wire contract: what the coordinator (`warren-coordinator`) and the helper's
// control client (`helper/src/control`) say to each other over HTTP. Both sides import this
// file; no Node or DOM imports here. docs/coordinator.md is the user-facing description.
//
// Trust model in one paragraph: the coordinator has an Ed25519 signing key; its public key is
// pinned by every helper at enrolment and every network map is signed with it. Each system
// has an Ed25519 machine key (separate from its WireGuard X25519 key); every agent request
// after enrolment is signed with it (AGENT_AUTH below), so a stolen map or a replayed request
// gets nothing. Admin requests carry a bearer token that lives in the coordinator's data dir.
import type { Policy } from './policy.js';

/** CONTROL_PROTOCOL is bumped on incompatible changes of anything in this file. 2: identities
 * are issued by the coordinator, no longer derived from WireGuard keys, so a helper of protocol
 * 1 (which derives its peers' identities from their keys) would miss the policies naming them.
 * Additions that a side announces and the other may ignore keep the protocol: map deltas
 * (map-delta.ts, `deltas=1`) and their batch signatures (`batch=1`). */
export const CONTROL_PROTOCOL = 2;

/** CONTROL_PATHS are the coordinator's HTTP routes, spelled once for both sides. */
export const CONTROL_PATHS = {
  /** POST EnrolRequest → EnrolResponse. Unauthenticated except for the enrolment key and the
   * proof of possession of the machine key inside the body. */
  enrol: '/v1/enrol',
  /** GET (signed) → SignedMap, or 409 `pending-approval`. */
  map: '/v1/agent/map',
  /** GET (signed) ?since=VERSION[&deltas=1] → text/event-stream of WatchEvent (event: map | delta |
   * punch | pending | revoked | ping); `delta` only with deltas=1 (map-delta.ts). */
  watch: '/v1/agent/watch',
  /** POST (signed) EndpointReport → 204. */
  endpoints: '/v1/agent/endpoints',
  /** POST (signed) RelayTokenRequest → RelayTokenResponse: a token for one relay the map lists
   * (nat-relay.ts); 404 for a relay the map does not list. */
  relayToken: '/v1/agent/relay-token',
  /** POST (signed) empty body → DiscoveryKeyResponse: the key this system MACs its discovery
   * requests with (nat-discovery.ts). */
  discoveryKey: '/v1/agent/discovery-key',
  /** POST (signed) PunchRequest → 204: asks the coordinator to tell a peer to probe this
   * system's endpoints now (the peer gets a `punch` WatchEvent). 404 for a system that is
   * not this one's peer. */
  punch: '/v1/agent/punch',
  /** Admin routes, `Authorization: Bearer TOKEN`. */
  adminKeys: '/v1/admin/keys',
  adminSystems: '/v1/admin/systems',
  adminPolicy: '/v1/admin/policy',
  /** GET ?since=MS&actor=X&action=X&refused=1&limit=N → { entries }: the audit log. */
  adminAudit: '/v1/admin/audit',
  /** GET → { publicKey, protocol }: lets `warren enrol` show what it is about to pin. */
  info: '/v1/info',
  /** GET (admin token) → Prometheus metrics in the text exposition format; also served without
   * the token on `serve --metrics-listen` (docs/coordinator.md "Metrics"). */
  metrics: '/metrics',
} as const;

/** CONTROL_LIMITS bound every body either side accepts. */
export const CONTROL_LIMITS = {
  requestBodyBytes: 64 * 1024,
  policyFileBytes: 1024 * 1024,
  mapBytes: 16 * 1024 * 1024,
  /** clock skew accepted on signed agent requests, milliseconds either way */
  signatureSkewMs: 60_000,
  endpointsPerSystem: 16,
  hostnameChars: 64,
} as const;

/** AGENT_AUTH describes the signed-request scheme. The header is
 *   `Authorization: Warren-Sig system=<SYSTEM_ID>,ts=<UNIX_MS>,nonce=<16-64 hex>,sig=<base64>`
 * and the signature is Ed25519 (machine key) over the UTF-8 string
 *   `warren-agent-v1\n<METHOD>\n<PATH WITH QUERY>\n<ts>\n<nonce>\n<hex sha256 of body>`
 * The coordinator refuses a ts outside CONTROL_LIMITS.signatureSkewMs and a (system, nonce)
 * pair it has seen within that window (replay). */
export const AGENT_AUTH = {
  scheme: 'Warren-Sig',
  context: 'warren-agent-v1',
} as const;

/** agentSigningText is the text an agent request's signature covers (AGENT_AUTH); both the
 * agent and the coordinator build it here, so the two can never disagree. */
export function agentSigningText(
  method: string,
  pathWithQuery: string,
  ts: number,
  nonce: string,
  bodySha256Hex: string,
): string {
  return `${AGENT_AUTH.context}\n${method}\n${pathWithQuery}\n${ts}\n${nonce}\n${bodySha256Hex}`;
}

/** MAP_SIGNATURE_CONTEXT prefixes the bytes a network map signature covers:
 *   Ed25519(coordinatorKey, UTF-8("warren-map-v1\n") || payloadBytes)
 * where payloadBytes is the base64-decoded SignedMap.payload (the JSON of a NetworkMap). */
export const MAP_SIGNATURE_CONTEXT = 'warren-map-v1\n';

/** ENROL_SIGNATURE_CONTEXT prefixes the proof that the enrolling agent holds its machine key:
 *   Ed25519(machineKey, UTF-8("warren-enrol-v1\n" + enrolmentKey + "\n" + wireguardPublicKey + "\n" + ts))
 */
export const ENROL_SIGNATURE_CONTEXT = 'warren-enrol-v1\n';

/** enrolProofText is the text the enrolment proof covers (ENROL_SIGNATURE_CONTEXT). */
export function enrolProofText(enrolmentKey: string, wireguardPublicKey: string, ts: number): string {
  return `${ENROL_SIGNATURE_CONTEXT}${enrolmentKey}\n${wireguardPublicKey}\n${ts}`;
}

/** EnrolRequest is what `warren enrol` sends. Keys are base64 (32 bytes each). */
export interface EnrolRequest {
  protocol: number;
  enrolmentKey: string;
  wireguardPublicKey: string;
  machinePublicKey: string;
  hostname: string;
  /** ts is Unix ms; proof is the ENROL_SIGNATURE_CONTEXT signature, base64. */
  ts: number;
  proof: string;
  /** endpoints are "a.b.c.d:port" or "[ipv6]:port" candidates the agent can be reached at (may be empty). */
  endpoints: string[];
}

/** SystemState is where a system is in its life. */
export type SystemState = 'pending' | 'active' | 'revoked';

/** EnrolResponse tells the agent who it is. map is null while the system is pending. */
export interface EnrolResponse {
  systemId: string;
  /** identity is issued by the coordinator: 5 characters of Crockford base32 (src-shared/lib/
   * identity.ts), drawn at random among those never issued in this network, never derived from
   * the WireGuard key. It stays the system's for good, and is never issued again after it is
   * revoked or removed. Every identity in maps and policies is one of these. */
  identity: string;
  virtualAddress: string;
  virtualNetwork: string;
  /** virtualAddress6 is the system's IPv6 address in virtualNetwork6 (see NetworkMap); both are
   * absent from a coordinator older than the IPv6 overlay. */
  virtualAddress6?: string;
  virtualNetwork6?: string;
  tags: string[];
  state: SystemState;
  coordinatorPublicKey: string;
  map: SignedMap | null;
  /** name is the system's name at the coordinator (a DNS label, unique among live systems),
   * which admin commands also take; absent from older coordinators. */
  name?: string;
}

/** SignedMap is a network map as it travels: payload is base64 of the map's JSON bytes. */
export interface SignedMap {
  payload: string;
  signature: string;
}

/** MapPeer is one peer this system may talk to (either direction) or use routes of. */
export interface MapPeer {
  /** identity is the peer's issued identity (EnrolResponse.identity), not its key's hash. */
  identity: string;
  name: string;
  publicKey: string;
  virtualAddress: string;
  /** virtualAddress6 is the peer's IPv6 address, inside NetworkMap.virtualNetwork6 (absent from
   * an older coordinator's maps). */
  virtualAddress6?: string;
  /** endpoints are "a.b.c.d:port" or "[ipv6]:port" (RFC 5952 canonical), best first: observed
   * public address, then reported ones. */
  endpoints: string[];
  tags: string[];
  /** dnsNames are relative to the zone ("db" → db.<zone>); hostname-derived name first. */
  dnsNames: string[];
  /** providesRoutes are the subnets this peer is an exit node for (all of them, granted or not). */
  providesRoutes: string[];
  online: boolean;
}

/** NetworkMap is everything a helper needs besides its own keys. Policies are resolved by the
 * coordinator for this system: tag selectors are expanded to identities, PublicIp trust
 * requirements are evaluated (a policy whose requirement fails for a sender loses that sender)
 * and removed; schedule requirements stay, the helper evaluates them on its own clock. Only
 * policies in which this system is a sender or a receiver are included. */
export interface NetworkMap {
  protocol: number;
  /** version grows with every change anywhere in the coordinator; older maps are refused. */
  version: number;
  generatedAt: number;
  /** systemId is the recipient; a helper refuses a map addressed to someone else. */
  systemId: string;
  self: {
    /** identity is this system's issued identity (EnrolResponse.identity). */
    identity: string;
    name: string;
    virtualAddress: string;
    /** virtualAddress6 is this system's IPv6 address, inside virtualNetwork6. */
    virtualAddress6?: string;
    tags: string[];
    dnsNames: string[];
    /** providesRoutes: the subnets this system should serve as an exit node. */
    providesRoutes: string[];
    /** signIn is the person this system is enrolled for by signing in (`warren login`, the
     * app's Sign in), so the system can tell its user when a sign-in must be renewed. Absent for
     * systems enrolled with a key, and from older coordinators; older helpers ignore it. */
    signIn?: SelfSignIn;
  };
  virtualNetwork: string;
  /** virtualNetwork6 is the network's IPv6 prefix: an RFC 4193 unique local /48 (fdXX:XXXX:XXXX::/48)
   * the coordinator drew once. Every virtualAddress6 in the map lies inside it; a helper refuses
   * a map with one outside. Added without a protocol bump: helpers that do not know these fields
   * ignore them (the map parser takes only the fields it knows), and a map without them (an
   * older coordinator) is an IPv4-only overlay. */
  virtualNetwork6?: string;
  dnsZone: string;
  peers: MapPeer[];
  policies: Policy[];
  /** routes: the exit-node routes this system is granted, by exit node identity. */
  routes: Record<string, string[]>;
  /** discovery is the coordinator's UDP endpoint discovery port ("a.b.c.d:port" or "[ipv6]:port"), or absent. */
  discovery?: string;
  /** discovery6 is the same port's IPv6 endpoint ("[ipv6]:port") when discovery is IPv4: a
   * dual-stack coordinator (`--public-ip` twice). Additive, without a protocol bump: older
   * helpers ignore it and use discovery. */
  discovery6?: string;
  /** relays this system may use when no direct path works, in order of preference. */
  relays?: RelayInfo[];
  /** routeGrants (on an exit node): which peers may use which of this system's provided
   * subnets, by sender identity. The exit node's firewall lets a sender into a provided subnet
   * only within its grant. Absent means no sender is granted anything. */
  routeGrants?: Record<string, string[]>;
  /** coordinators are the base URLs of every coordinator serving this network (several on one
   * database, docs/coordinator.md "Several coordinators"), at most COORDINATOR_URLS_MAX of at
   * most COORDINATOR_URL_MAX characters, http:// or https://. A helper whose coordinator stops
   * answering watches another from this list; it takes the list from signed maps only, and
   * every coordinator signs with the same key. Additive, without a protocol bump: older helpers
   * ignore it, and a map without it (one coordinator) leaves the helper on the URL it enrolled with. */
  coordinators?: string[];
}

/** SelfSignIn is this system's user's sign-in (NetworkMap.self.signIn): the user's email, the
 * provider they signed in with (its Name), when they last authenticated there (Unix ms), and
 * expiresAt, the earliest moment a UserAuthentication requirement this system is subject to as a
 * sender stops accepting that sign-in (lastAuthAt + MaxAge; absent when no requirement applies).
 * Bounded by SIGN_IN_LIMITS. */
export interface SelfSignIn {
  user: string;
  authority: string;
  authenticatedAt: number;
  expiresAt?: number;
}

/** SIGN_IN_LIMITS bound NetworkMap.self.signIn's texts: an email address (RFC 5321 §4.5.3.1:
 * at most 254 characters in a path) and a provider's Name. */
export const SIGN_IN_LIMITS = { userChars: 254, authorityChars: 64 } as const;

/** COORDINATOR_URLS_MAX and COORDINATOR_URL_MAX bound NetworkMap.coordinators. */
export const COORDINATOR_URLS_MAX = 16;
export const COORDINATOR_URL_MAX = 256;

/** RelayInfo is one relay as the map lists it. udp and tcp are "a.b.c.d:port" or "[ipv6]:port"
 * (either may be absent); name is for people (status, logs). udp6 and tcp6 are the same
 * relay's IPv6 endpoints when udp and tcp are IPv4 ones (a dual-stack embedded relay); older
 * helpers ignore them. region (nat-relay.ts RELAY_REGION) says where the relay runs, for people:
 * helpers choose between relays by the round trips they measure, not by region; older helpers
 * ignore it, and maps from older coordinators leave it out. */
export interface RelayInfo {
  name: string;
  udp?: string;
  tcp?: string;
  udp6?: string;
  tcp6?: string;
  region?: string;
}

/** RelayTokenRequest names the relay (as the map lists it) the token is for: each relay checks a
 * MAC only the coordinator and that relay can make. */
export interface RelayTokenRequest {
  relay: string;
}

/** RelayTokenResponse carries a relay token (base64 of nat-relay.ts RelayToken) and its expiry. */
export interface RelayTokenResponse {
  token: string;
  expires: number;
}

/** DiscoveryKeyResponse carries the system's discovery key (base64, 32 bytes). It does not
 * expire; a helper whose requests stop being answered fetches it again. */
export interface DiscoveryKeyResponse {
  key: string;
}

/** PunchRequest names the peer (by identity) that should probe this system now. */
export interface PunchRequest {
  peer: string;
}

/** WatchEvent is one server-sent event's data on the watch stream. */
export type WatchEvent =
  | { type: 'map'; map: SignedMap }
  /** delta: the change from the map the helper holds to the next (map-delta.ts MapDelta), sent
   * only on a watch that asked for deltas (map-delta.ts WATCH_DELTA_PARAM). */
  | { type: 'delta'; delta: SignedMap }
  /** punch: peer `from` is probing this system's endpoints now; probe its endpoints too. */
  | { type: 'punch'; from: string; endpoints: string[] }
  | { type: 'pending' }
  | { type: 'revoked'; reason: string }
  | { type: 'ping'; ts: number };

/** EndpointReport is what the agent reports about where it listens. */
export interface EndpointReport {
  listenPort: number;
  /** addresses are the agent's interface addresses: IPv4 (no loopback), global and unique local
   * IPv6 (no link-local, loopback, temporary or deprecated ones), at most endpointsPerSystem. */
  addresses: string[];
}

/** ControlErrorCode is every error code the coordinator sends, in `{ error: { code, message } }`. */
export type ControlErrorCode =
  | 'bad-request'
  | 'unknown-field'
  | 'payload-too-large'
  | 'unauthorized'
  | 'bad-signature'
  | 'replay'
  | 'clock-skew'
  | 'key-invalid'
  | 'key-expired'
  | 'key-used-up'
  | 'key-revoked'
  | 'pending-approval'
  | 'revoked'
  | 'not-found'
  | 'conflict'
  | 'policy-invalid'
  | 'address-space-full'
  /** rate-limited: too many watch streams, or too many signed requests from one system within
   * the replay window (HTTP 429); retry later with backoff. */
  | 'rate-limited'
  /** login-refused: the identity provider's answer to a sign-in was refused (a bad ID token,
   * an unknown or used state, a user outside AllowedDomains); the message says why. */
  | 'login-refused'
  | 'internal';

/** ControlErrorBody is the JSON body of every non-2xx response. */
export interface ControlErrorBody {
  error: { code: ControlErrorCode; message: string };
}
