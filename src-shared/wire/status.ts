// Status: what `warren status --json` and the local API's GET /v1/status return.
// Shared by the helper, the CLI and (later) the app; no Node or DOM imports here.

/** TunnelState is the helper's tunnel state machine state. */
export type TunnelState = 'disconnected' | 'connecting' | 'connected' | 'error';

/** PeerStatus is one peer as the helper sees it. Times are Unix milliseconds or null. */
export interface PeerStatus {
  identity: string; // 5-character Crockford base32 id derived from the public key
  name: string | null;
  publicKey: string; // base64, WireGuard format
  endpoint: string | null; // "a.b.c.d:port" or "[ipv6]:port" of the latest authenticated packet, or the configured one
  allowedIps: string[];
  /** virtualAddress6 is the peer's IPv6 overlay address (a /128 of its allowed IPs, the one in
   * the network's /48 first), or null when it has none; absent from older helpers. */
  virtualAddress6?: string | null;
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number; // seconds, 0 = off
  exitNodeFor: string[];
  /** tags are the peer's tags (bare names). */
  tags?: string[];
  /** dnsName is the peer's first DNS name, fully qualified (e.g. beta.warren.internal), or null. */
  dnsName?: string | null;
  /** exitNodeInUse says whether this system routes exitNodeFor through the peer now. */
  exitNodeInUse?: boolean;
  /** path says how packets reach the peer now (coordinated mode, where NAT traversal runs). */
  path?: PeerPath;
  /** online says something recent was heard from the peer (peer-online.ts: a handshake in the
   * last 180 s or a direct path that answers); absent from older helpers. */
  online?: boolean;
}

/** PeerPath is the way to a peer the NAT traversal layer chose. */
export interface PeerPath {
  /** direct: straight to `endpoint`; relay: through relay `relay`; none: nothing works yet. */
  type: 'direct' | 'relay' | 'none';
  endpoint: string | null;
  relay: string | null;
  /** rttMs is the path's last measured round-trip time (disco ping), or null. */
  rttMs: number | null;
  /** candidates is how many addresses of the peer are being tried. */
  candidates: number;
}

/** NatSummary is this helper's side of NAT traversal. */
export interface NatSummary {
  /** mapping is the public UDP address the coordinator sees this helper at, or null. */
  mapping: string | null;
  relays: RelayStatus[];
}

/** RelayStatus is one relay the map lists, as this helper sees it. The fields after error are
 * newer: status from an older helper leaves them out. */
export interface RelayStatus {
  name: string;
  transport: 'udp' | 'tcp' | null;
  error: string | null;
  /** region: where the relay runs (the map's, else what the relay says), null if unknown */
  region?: string | null;
  /** rttMs: the smoothed round trip of its probes (ms); null (not measured) before the first
   * answer, and for a relay reached over TCP (TCP-only, or UDP blocked), since probes go over UDP */
  rttMs?: number | null;
  /** live: registered, and if reached over UDP still answering probes */
  live?: boolean;
  /** inUse: the relay new relayed sessions go through (the nearest live one) */
  inUse?: boolean;
}

/** DeviceCounters are helper-wide drop and traffic counters, by reason. */
export type DropCounters = Record<string, number>;

/** PolicySummary says how traffic is decided: 'allow-all' (static profile without Policies)
 * or 'policy' (default deny), and how many policies grant something right now. */
export interface PolicySummary {
  mode: 'allow-all' | 'policy';
  active: number;
  total: number;
  /** flows is the number of connections the firewall tracks now. */
  flows?: number;
  /** evictions counts tracked flows pushed out to make room, by reason: 'peer-share' (a peer at
   * its share of the table evicted one of its own), 'table-full' (the table was full), and
   * 'probe-window' (a flow picked up mid-stream that the other side never answered). */
  evictions?: Record<string, number>;
}

/** DnsSummary is the helper's nameserver and how the OS was told to use it. */
export interface DnsSummary {
  zone: string;
  address: string;
  integration: 'systemd-resolved' | 'resolv.conf' | 'none';
}

/** CoordinatorSummary is how a coordinated helper stands with its coordinator. */
export interface CoordinatorSummary {
  url: string;
  systemId: string;
  /** reachable: the watch stream is open now. */
  reachable: boolean;
  /** state: 'unknown' until the coordinator has said; 'pending' waits for an admin's approval. */
  state: 'unknown' | 'pending' | 'active' | 'revoked';
  /** mapVersion is the version of the network map in force (0 before the first). */
  mapVersion: number;
  /** lastContact is when the coordinator was last heard from (Unix ms), or null. */
  lastContact: number | null;
  lastError: string | null;
  /** condition says in one word how the link stands now (absent from older helpers); state
   * above stays as it was for older readers. See CoordinatorCondition. */
  condition?: CoordinatorCondition;
  /** since is when condition began (Unix ms). */
  since?: number;
  /** lastMapAt is when a map was last taken (verified and applied, or confirmed unchanged by
   * the coordinator), or null before the first. */
  lastMapAt?: number | null;
  /** detail is the coordinator's or the network's own words for condition, or null. */
  detail?: string | null;
}

/** CoordinatorCondition is how a coordinated helper stands with its coordinator:
 * - connecting: no answer yet since the helper started;
 * - connected: the watch stream is open and the map in force verified;
 * - pending-approval: the coordinator holds this system until an admin approves it;
 * - unreachable: nothing answers (refused, timed out, a gateway's 502/503/504);
 * - rejected: the coordinator refuses this system's signed requests (unknown system, machine
 *   key that does not verify, clock skew);
 * - revoked: an admin revoked this system; every tunnel is down;
 * - bad-signature: a map was not signed by the pinned coordinator key;
 * - map-refused: a map verified but could not be used (another address, malformed);
 * - key-mismatch: the coordinator holds another WireGuard public key for this system than the
 *   profile's PrivateKey gives, so peers expect another key;
 * - error: the coordinator answered with an error of its own (rate limit, internal). */
export type CoordinatorCondition =
  | 'connecting'
  | 'connected'
  | 'pending-approval'
  | 'unreachable'
  | 'rejected'
  | 'revoked'
  | 'bad-signature'
  | 'map-refused'
  | 'key-mismatch'
  | 'error';

/** Status is the whole snapshot. */
export interface Status {
  version: string;
  identity: string;
  publicKey: string;
  virtualAddress: string;
  virtualNetwork: string;
  /** virtualAddress6 and virtualNetwork6 are this system's IPv6 address and the IPv6 overlay
   * prefix (the network's unique local /48), or null where the system has none (an IPv4-only
   * profile, or IPv6 turned off on the host); absent from older helpers. */
  virtualAddress6?: string | null;
  virtualNetwork6?: string | null;
  adapter: string;
  /** adapterTaken lists the default adapter names (warren0, ...) another program's link had
   * when the helper started, so `adapter` is the next free warrenN; absent when none was. */
  adapterTaken?: string[];
  listenPort: number;
  /** offloads are the segmentation offloads the WireGuard socket uses now: UDP GSO on send
   * (off once the kernel refused it) and UDP GRO on receive (udp(7) UDP_SEGMENT, UDP_GRO);
   * WARREN_OFFLOAD=off turns both off. Absent while no socket is open, and from older helpers.
   * tunTso and tunGro are the adapter's: TCP super-packets read from it and split (IFF_VNET_HDR
   * with TSO), and TCP segments coalesced into it; WARREN_TUN_OFFLOAD=off turns both off.
   * Absent from older helpers and adapters without offloads. cryptoThreads is how many threads
   * seal and open the data path's batches, the JS thread included (1: threads off;
   * WARREN_THREADS sets it), and cryptoWorkerPackets the packets the other threads sealed or
   * opened since they started; both absent from older helpers. wakeTicker is whether the wake
   * ticker runs (a thread that keeps a CPU from halting deeply for 20 ms after the data path
   * woke, WARREN_WAKE_TICKER); jsSliceUs the scheduler slice the kernel granted the data
   * path's JS thread, in µs, 0 for the kernel's default (WARREN_JS_SLICE=off, or a kernel
   * before 6.12); both absent from older helpers. warmUpMs is how long the helper ran its
   * packet path in memory before the device started, so the first packets meet compiled code
   * (WARREN_WARM_UP=off: no warm-up, and absent), warmUpRoundTrips how many round trips that
   * was; both absent from older helpers. */
  offloads?: {
    udpGso: boolean;
    udpGro: boolean;
    tunTso?: boolean;
    tunGro?: boolean;
    cryptoThreads?: number;
    cryptoWorkerPackets?: number;
    wakeTicker?: boolean;
    jsSliceUs?: number;
    warmUpMs?: number;
    warmUpRoundTrips?: number;
  };
  state: TunnelState;
  mode: 'static' | 'coordinated';
  peers: PeerStatus[];
  drops: DropCounters;
  startedAt: number;
  /** starting is true while the helper is still setting up (adapter, routes, DNS, proxies,
   * coordinator); the API answers from the first moment, so callers that need a working
   * tunnel wait until it is false or absent. */
  starting?: boolean;
  policy?: PolicySummary;
  /** providesRoutes lists the subnets this system is an exit node for. */
  providesRoutes?: Array<{ cidr: string; via: string; snatTo: string }>;
  /** unsolicitedFromSubnets counts packets from provided subnets that tried to start traffic into the overlay. */
  unsolicitedFromSubnets?: number;
  /** egressProxyPort is the egress HTTP proxy's port on 127.0.0.1, or null without Egress. */
  egressProxyPort?: number | null;
  /** ingressPorts are the TCP ports published on the virtual address. */
  ingressPorts?: number[];
  dns?: DnsSummary | null;
  /** coordinator is present in coordinated mode. */
  coordinator?: CoordinatorSummary;
  /** nat is present in coordinated mode: the public mapping and the relays. */
  nat?: NatSummary;
  /** error says why state is 'error'. */
  error?: string | null;
  /** inactiveProfileKeys lists reserved profile keys present in the profile but not acted on
   * yet (docs/profile.md: Coordinator, Policies, ...); absent or empty when there are none. */
  inactiveProfileKeys?: string[];
  /** login is the sign-in started through the local API (POST /v1/login): the one under way, or
   * how the last one ended; absent when there was none since the helper started. */
  login?: LoginProgress;
  /** signIn is this system's own sign-in, when the coordinator's map names one (a system a
   * person enrolled by signing in, under a UserAuthentication requirement); absent otherwise and
   * from older helpers and coordinators. */
  signIn?: SignInState;
  /** problems are things the helper left undone that the person can fix, each saying how
   * (e.g. a coordinator's full tunnel this profile does not allow); absent or empty when none. */
  problems?: string[];
}

/** LoginProgress is how a sign-in started through the local API goes: 'waiting' for the person
 * to sign in in their browser, then 'enrolled' (the profile is written; the helper applies it
 * when restarted), 'refused' (message says why, and what to do) or 'cancelled' (DELETE
 * /v1/login: the coordinator was told, so its URL enrols nothing). It has no URL and no code:
 * those go only to the privileged caller that started it (LoginAnswer). */
export interface LoginProgress {
  state: 'waiting' | 'enrolled' | 'refused' | 'cancelled';
  coordinator: string;
  provider: string;
  startedAt: number;
  /** expiresAt is when a waiting sign-in stops working. */
  expiresAt: number;
  /** user is who signed in; identity and tags are what the coordinator enrolled (enrolled only). */
  user: string | null;
  identity: string | null;
  tags: string[];
  /** message is one sentence for people. */
  message: string;
}

/** SignInState is this system's own sign-in as the coordinator's signed map tells it
 * (NetworkMap.self.signIn): who signed in, with which provider, when, and until when a
 * UserAuthentication requirement accepts it. lapsed is true once expiresAt has passed: the
 * coordinator no longer lets the requirement's traffic through until the person signs in again. */
export interface SignInState {
  user: string;
  authority: string;
  authenticatedAt: number;
  expiresAt: number | null;
  lapsed: boolean;
}
