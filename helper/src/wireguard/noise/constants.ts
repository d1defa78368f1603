// Protocol constants of WireGuard (whitepaper §5.4 for the handshake strings, §6.1 and §6.4
// for the limits and timers). Every time here is in milliseconds because the core's clock
// (`now`) is a number of milliseconds.

/** CONSTRUCTION is the Noise protocol name; its hash seeds the chaining key (§5.4.2). */
export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
/** IDENTIFIER is mixed into the initial hash so WireGuard transcripts differ from other Noise uses. */
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
/** LABEL_MAC1 prefixes the receiver's public key to form the mac1 key (§5.4.4). */
export const LABEL_MAC1 = 'mac1----';
/** LABEL_COOKIE prefixes the responder's public key to form the cookie encryption key (§5.4.7). */
export const LABEL_COOKIE = 'cookie--';

/** KEY_SIZE is the length of every X25519 key, chaining key, hash and symmetric key. */
export const KEY_SIZE = 32;
/** MAC_SIZE is the length of mac1, mac2 and the cookie (keyed BLAKE2s with 16-byte output). */
export const MAC_SIZE = 16;
/** TAG_SIZE is the Poly1305 authentication tag length. */
export const TAG_SIZE = 16;
/** TAI64N_SIZE is the length of the encrypted handshake timestamp's plaintext. */
export const TAI64N_SIZE = 12;

/**
 * REKEY_AFTER_MESSAGES is the whitepaper's 2^60. It is exactly representable as a double, so
 * comparisons against it are correct; in practice the time limits always come first.
 */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/**
 * REJECT_AFTER_MESSAGES would be 2^64 - 2^13 - 1 in the whitepaper, which a JS number cannot
 * hold; counters here are numbers, exact only up to 2^53 - 1. We therefore refuse to send or
 * accept any counter at or above Number.MAX_SAFE_INTEGER. That is stricter than the spec (so
 * a nonce can never repeat through rounding) and never reached in practice: at 100 million
 * packets per second 2^53 packets take 2.8 years, while a keypair is replaced after
 * REKEY_AFTER_TIME and unusable after REJECT_AFTER_TIME. A peer that really sent such a counter
 * could not have done so honestly within 180 s, so dropping it loses nothing.
 */
export const REJECT_AFTER_MESSAGES = Number.MAX_SAFE_INTEGER;

/** REKEY_AFTER_TIME: the initiator of a session starts a new handshake once it is this old. */
export const REKEY_AFTER_TIME = 120_000;
/** REJECT_AFTER_TIME: a keypair older than this neither sends nor receives. */
export const REJECT_AFTER_TIME = 180_000;
/** REKEY_ATTEMPT_TIME: how long a handshake is retried before giving up. */
export const REKEY_ATTEMPT_TIME = 90_000;
/** REKEY_TIMEOUT: minimum gap between initiations, and the retransmission interval. */
export const REKEY_TIMEOUT = 5_000;
/** REKEY_TIMEOUT_JITTER_MAX: retransmissions add up to this much random delay, so two peers
 * that initiate at once do not stay in lock-step forever. */
export const REKEY_TIMEOUT_JITTER_MAX = 333;
/** KEEPALIVE_TIMEOUT: after receiving data and sending nothing this long, send a keepalive. */
export const KEEPALIVE_TIMEOUT = 10_000;
/** COOKIE_REFRESH_TIME: lifetime of a cookie and of the responder's cookie secret. */
export const COOKIE_REFRESH_TIME = 120_000;
/** ZERO_KEYS_AFTER: with no new handshake for this long, all session key material is erased. */
export const ZERO_KEYS_AFTER = 3 * REJECT_AFTER_TIME;
/** MAX_TIMER_HANDSHAKES: initiations sent for one handshake attempt before giving up
 * (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT = 18, so about 90 s). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** HANDSHAKE_INITIATION_RATE: a responder consumes at most one initiation per peer in this
 * interval (wireguard-go's 1/50 s), bounding the cost a replaying attacker can impose. */
export const HANDSHAKE_INITIATION_RATE = 20;
/** LAST_MINUTE_REKEY_AGE: an initiator that receives on a keypair this old starts a handshake
 * so the session is renewed before REJECT_AFTER_TIME cuts it off. */
export const LAST_MINUTE_REKEY_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;
