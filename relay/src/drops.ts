// Why the relay dropped something: one counter per reason (stats().dropped), so an operator
// can tell an attack (bad-mac, bad-signature, rate-limited) from a misconfiguration (every
// registration bad-mac: a wrong key file or name; bad-token: the relay trusts another
// coordinator) or a client bug (unknown-destination).

/** DropReason names each way a datagram, frame, registration or connection is discarded. */
export type DropReason =
  /** a datagram that is not a Warren NAT message at all */
  | 'not-relay'
  /** a Warren NAT message that a relay never accepts (discovery, disco, relayRecv, ...) */
  | 'unexpected-kind'
  | 'malformed-register'
  | 'malformed-send'
  /** a register whose ts is outside NAT_LIMITS.skewMs of the relay's clock */
  | 'stale-register'
  /** a token without a valid MAC under this relay's key: forged, issued for another relay, or
   * this relay's key file does not match its coordinator (or its --name) */
  | 'bad-mac'
  /** a token with a valid MAC that does not parse, or that this relay's coordinator did not sign */
  | 'bad-token'
  | 'bad-signature'
  | 'replay'
  /** the replay cache has no room for the nonce (in total or for this machine key) */
  | 'replay-cache-full'
  /** over a registration rate: per source address, per source prefix, per peer id, or in total */
  | 'rate-limited'
  /** screened registrations beyond what the admission queue holds (admission.ts) */
  | 'register-queue-full'
  /** well-signed registrations that were answered with relayRefused */
  | 'refused-token-expired'
  | 'refused-id-held'
  | 'refused-full'
  /** a relaySend from an address or connection with no live session */
  | 'unknown-source'
  | 'unknown-destination'
  | 'to-self'
  /** the reply function threw (socket closed) */
  | 'send-error'
  /** a TCP destination whose write backlog is over the limit */
  | 'tcp-backlog'
  /** a frame (from a TCP client, or over IPv6) larger than a UDP datagram to its destination holds */
  | 'udp-too-big'
  | 'tcp-limit'
  | 'tcp-pending-limit'
  /** a TCP length prefix of 0 or over the largest frame: the connection is closed */
  | 'tcp-bad-length'
  /** a first TCP frame that is not a valid, signed registration: the connection is closed */
  | 'tcp-not-registered'
  | 'tcp-handshake-timeout'
  | 'tcp-idle'
  /** a relayProbe that is not exactly RELAY_PROBE_BYTES of the current version */
  | 'malformed-probe'
  /** a relayProbe over its source address's rate, or the total (left unanswered) */
  | 'probe-rate-limited'
  | 'internal-error';

/** DropCounters counts drops by reason. */
export class DropCounters {
  private readonly counts = new Map<DropReason, number>();

  add(reason: DropReason, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
  }

  get(reason: DropReason): number {
    return this.counts.get(reason) ?? 0;
  }

  /** snapshot returns a copy, reasons in the order they first happened. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
