// The relay's options, limits and counters: what a Relay (server.ts) is configured with and
// reports, shared by warren-relay and the coordinator's embedded relay.
import type { Logger } from '../../src-shared/lib/log.js';
import type { RegisterLimits } from './register.js';
import type { TcpLimits } from './tcp.js';

/** RelayLimits bound everything a relay keeps for clients it does not know yet. */
export interface RelayLimits extends RegisterLimits, TcpLimits {
  maxSessions: number;
  /** sessionIdleMs: a session goes this long after its last register or send */
  sessionIdleMs: number;
  /** refreshSeconds: how often clients are told to register again (relayRegistered) */
  refreshSeconds: number;
  sweepIntervalMs: number;
  /** registerQueue: screened registrations that may wait for their signature checks */
  registerQueue: number;
  /** registerTurnMs: signature work per event-loop turn, after that turn's forwarding */
  registerTurnMs: number;
  /** round-trip probes answered per source address (a helper sends about one a second) */
  probePerIpPerSecond: number;
  probeBurstPerIp: number;
  /** round-trip probes answered in all, per second */
  probePerSecond: number;
}

/** DEFAULT_RELAY_LIMITS: sized for 100,000 systems refreshing every 25 s (4,000 registrations
 * a second at most, each one Ed25519 check for a refresh of the same token). A /24 may hold a
 * carrier-grade NAT's worth of systems, so its bucket is ten addresses'; a system needs a
 * registration every 25 s (and a few retries), so its peer id's bucket is small. */
export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxSessions: 100_000,
  sessionIdleMs: 90_000,
  refreshSeconds: 25,
  sweepIntervalMs: 5_000,
  maxTcpConnections: 10_000,
  maxPendingTcp: 1_000,
  tcpHandshakeMs: 5_000,
  tcpIdleMs: 90_000,
  tcpMaxBacklogBytes: 1 << 20,
  registerPerIpPerSecond: 20,
  registerBurstPerIp: 40,
  registerPerPrefixPerSecond: 200,
  registerBurstPerPrefix: 400,
  registerPerIdPerSecond: 2,
  registerBurstPerId: 8,
  registerPerSecond: 5_000,
  registerQueue: 2_048,
  registerTurnMs: 2,
  maxRateSources: 65_536,
  maxReplayEntries: 200_000,
  maxNoncesPerKey: 64,
  probePerIpPerSecond: 20,
  probeBurstPerIp: 40,
  probePerSecond: 20_000,
};

/** RelayOptions configure a Relay (and startRelay). */
export interface RelayOptions {
  /** coordinatorKey: raw 32-byte Ed25519 public key of the coordinator */
  coordinatorKey: Uint8Array;
  /** relayKey: the 32-byte key this relay shares with its coordinator (`warren-coordinator
   * relay-key NAME`); tokens carry a MAC under it, checked before any signature */
  relayKey: Uint8Array;
  log: Logger;
  /** now: wall-clock ms, for tests */
  now?: () => number;
  limits?: Partial<RelayLimits>;
  /** name: the relay's name as maps list it (registrations are signed for it); default 'relay' */
  name?: string;
  /** region: where the relay runs (nat-relay.ts RELAY_REGION), told to helpers in probe
   * replies; default none */
  region?: string;
}

/** DEFAULT_RELAY_NAME is a standalone relay's name unless `--name` says otherwise. */
export const DEFAULT_RELAY_NAME = 'relay';

/** RelayStats: live sessions and connections, packets forwarded, registrations waiting for
 * their signature checks, drops by DropReason. */
export interface RelayStats {
  sessions: number;
  tcpConnections: number;
  forwarded: number;
  registrationsWaiting: number;
  dropped: Record<string, number>;
}
