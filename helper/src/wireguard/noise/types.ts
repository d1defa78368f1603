// Small shared types of the noise core.

/** Endpoint is a UDP address; mac2 cookies are bound to it (WireGuard whitepaper §5.4.7). */
export interface Endpoint {
  ip: string;
  port: number;
}

/** DROP_REASONS are why an incoming message may not be accepted; the device counts them. */
export const DROP_REASONS = [
  'bad-length', // size does not match the message type
  'bad-type', // unknown type or non-zero reserved bytes
  'bad-mac1', // mac1 does not match our public key
  'bad-mac2-cookie-sent', // under load without a valid mac2: a cookie reply was returned instead
  'cookie-rate-limited', // a cookie reply was due, but its source or all sources had used their share
  'handshake-rate-limited', // its source address sent more handshake messages than its share
  'bad-cookie', // cookie reply that does not decrypt against our last mac1
  'bad-key', // a public key that gives an all-zero (low-order) shared secret
  'unknown-peer', // initiation from a static key we do not know
  'decrypt-failed', // AEAD authentication failed
  'replayed-timestamp', // initiation whose TAI64N is not newer than the last one
  'initiation-flood', // initiation less than 1/50 s after the previous one from that peer
  'unknown-index', // receiver index that names no handshake or session of ours
  'no-handshake', // response that does not answer our outstanding initiation
  'replayed-counter', // transport counter already seen or behind the replay window
  'counter-limit', // transport counter at or beyond REJECT_AFTER_MESSAGES
  'expired-keypair', // session older than REJECT_AFTER_TIME
  'no-private-key', // the device has no private key yet, so it can take part in no handshake
] as const;

/** DropReason says why an incoming message was not accepted. */
export type DropReason = (typeof DROP_REASONS)[number];
