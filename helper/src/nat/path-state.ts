// The state PathManager (paths.ts) keeps per peer: its candidate addresses with their probe
// times and round trips, the pings in flight, the chosen direct path, the relay's round trip,
// and how the peer's path looks in `warren status`.
import type { PeerPath } from '../../../src-shared/wire/status.js';
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { UNUSABLE, unusableReason } from '../../../src-shared/lib/ip/underlay.js';
import { formatIpEndpoint, parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import { isVirtualAddress, isVirtualWords } from './path-bind.js';

/** Timings (ms). Heartbeats keep a direct path's NAT mappings open and notice when it dies. */
export const PATH_TIMING = {
  tick: 250,
  heartbeat: 4000,
  /** a direct path with no pong for this long is dead */
  directTimeout: 12_500,
  /** probe every candidate this often while no direct path is known... */
  probeFast: 1000,
  /** ...for this long after the peer appeared or its path died, then this often */
  fastWindow: 10_000,
  probeSlow: 5000,
  /** other candidates are re-probed this often while a direct path works (a better one?) */
  probeBetter: 20_000,
  /** with no direct path after this long, use a relay */
  relayAfter: 2500,
  /** ask the coordinator to make the peer probe us at most this often */
  punchEvery: 10_000,
} as const;

/** MAX_CANDIDATES bounds a peer's candidate addresses (map, punches and pings together). */
export const MAX_CANDIDATES = 24;
/** MAX_PENDING bounds a peer's pings in flight. */
export const MAX_PENDING = 64;
/** PONGS_PER_SECOND bounds the pongs sent to one peer. */
export const PONGS_PER_SECOND = 50;
/** BETTER_FACTOR: a new path must be this much faster to replace a working one (no flapping on noise). */
export const BETTER_FACTOR = 0.7;

/** Candidate is one address a peer may be reached at. */
export interface Candidate {
  addr: IpAddress;
  port: number;
  text: string;
  source: 'map' | 'punch' | 'ping';
  lastPing: number;
  lastPong: number;
  rtt: number | null;
}

/** PeerState is everything PathManager knows about one peer's paths. */
export interface PeerState {
  peer: DevicePeer;
  identity: string;
  name: string;
  id: Uint8Array;
  key: Buffer | null;
  /** vport is the port of this peer's virtual endpoints (one per relay, same port). */
  vport: number;
  candidates: Map<string, Candidate>;
  pending: Map<string, { cand: Candidate | null; sentAt: number }>;
  direct: Candidate | null;
  relayRtt: number | null;
  relayPingAt: number;
  /** relayPong: when and through which relay (name) a relayed ping was last answered; reset
   * once that relay is given up for this peer (relay-set.ts RelaySilence) */
  relayPong: { at: number; via: string } | null;
  /** relayUnanswered: relayed pings sent through relayPingVia since the last answer */
  relayUnanswered: number;
  /** relayPingVia: the relay (name) the last relayed ping went through. The count starts again
   * when the pings go through another relay, so that pings a filtered relay swallowed are not
   * held against the next one (relay-set.ts silent). */
  relayPingVia: string | null;
  /** relayAvoid: a relay through which this peer's relayed session stopped passing traffic
   * while the relay itself still answered probes, and until when it is avoided for this peer */
  relayAvoid: { name: string; until: number; life: number } | null;
  lostAt: number;
  lastPunch: number;
  lastPunchIn: number;
  pongWindow: number;
  pongs: number;
}

/** newPeerState is the state of a peer just seen in the map: no path yet, lost since now. */
export function newPeerState(
  peer: DevicePeer,
  p: { identity: string; name: string },
  id: Uint8Array,
  key: Buffer | null,
  vport: number,
  now: number,
): PeerState {
  return {
    peer,
    identity: p.identity,
    name: p.name,
    id,
    key,
    vport,
    candidates: new Map(),
    pending: new Map(),
    direct: null,
    relayRtt: null,
    relayPingAt: 0,
    relayPong: null,
    relayUnanswered: 0,
    relayPingVia: null,
    relayAvoid: null,
    lostAt: now,
    lastPunch: 0,
    lastPunchIn: 0,
    pongWindow: 0,
    pongs: 0,
  };
}

/** candidateEndpoint parses a candidate, "a.b.c.d:port" or "[ipv6]:port", and returns it with
 * its canonical text. Virtual (relayed) addresses are never candidates, nor any address no peer
 * could send to (lib/ip/underlay.ts: unspecified, multicast, IPv6 link-local, which needs a zone
 * (RFC 4007) a map cannot name for the receiver, or IPv4-mapped). IPv6 loopback is refused too;
 * IPv4 loopback stays, as before, for helpers that share one host in tests. */
export function candidateEndpoint(text: string): { addr: IpAddress; port: number; text: string } | null {
  const e = parseIpEndpoint(text);
  if (e === null || isVirtualAddress(e.addr)) return null;
  const why = unusableReason(e.addr);
  if (why !== null && !(e.addr.family === 4 && why === UNUSABLE.loopback)) return null;
  return { addr: e.addr, port: e.port, text: formatIpEndpoint(e) };
}

/** peerPath describes the peer's path for status; relayName names relay i. */
export function peerPath(st: PeerState, relayName: (i: number) => string | null): PeerPath {
  const ep = st.peer;
  if (st.direct !== null) {
    return {
      type: 'direct',
      endpoint: st.direct.text,
      relay: null,
      rttMs: st.direct.rtt,
      candidates: st.candidates.size,
    };
  }
  if (isVirtualWords(ep.endpointWords, 0)) {
    return {
      type: 'relay',
      endpoint: null,
      relay: relayName(ep.endpointWords[3]! - 1),
      rttMs: st.relayRtt,
      candidates: st.candidates.size,
    };
  }
  return { type: 'none', endpoint: null, relay: null, rttMs: null, candidates: st.candidates.size };
}
