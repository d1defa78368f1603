// Keyed checks in front of the NAT services' signature work. A relay registration and an
// endpoint discovery request each cost an Ed25519 verification (or two), about a hundred times
// an HMAC; so each also carries a MAC keyed with a secret the sender cannot have made up, and
// the receiver checks that first. A forged datagram then costs an HMAC, not a signature check.
//
// The coordinator keeps one random secret (nat.key in its data dir) and derives every key from
// it with HKDF-SHA256 (RFC 5869): one per relay name, which that relay is given (the relay's MAC
// on relay tokens), and one per system id, which that system fetches (the MAC on its discovery
// requests). MACs are HMAC-SHA256 (RFC 2104) truncated to 16 bytes (§5 of the RFC allows the
// left half) and compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAC_BYTES } from '../wire/nat-wire.js';

/** NAT_KEY_BYTES is the size of the secret and of every key derived from it. */
export const NAT_KEY_BYTES = 32;

/** HKDF info strings (RFC 5869 §3.2: "info" binds a derived key to its use). */
const INFO = {
  relay: 'warren-relay-key-v1\n',
  discovery: 'warren-discovery-key-v1\n',
} as const;

/** HKDF_SALT is the Extract salt: fixed, so one secret yields the same keys everywhere. */
const HKDF_SALT = 'warren-nat-keys-v1';

/** natMac is HMAC-SHA256(key, context || bytes) truncated to MAC_BYTES. */
export function natMac(key: Uint8Array, context: string, bytes: Uint8Array): Buffer {
  return createHmac('sha256', key).update(context).update(bytes).digest().subarray(0, MAC_BYTES);
}

/** natMacOk checks mac against natMac(key, context, bytes) in constant time. */
export function natMacOk(key: Uint8Array, context: string, bytes: Uint8Array, mac: Uint8Array): boolean {
  return mac.length === MAC_BYTES && timingSafeEqual(natMac(key, context, bytes), mac);
}

/** NatKeys derives the relay and discovery keys of one coordinator secret. Extract runs once;
 * each key is one Expand block (L = 32 = HashLen, RFC 5869 §2.3: T(1) = HMAC(PRK, info || 0x01)),
 * so deriving a system's discovery key per request costs one HMAC. */
export class NatKeys {
  private readonly prk: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.length !== NAT_KEY_BYTES) throw new Error(`the NAT secret must be ${NAT_KEY_BYTES} bytes`);
    // Extract (RFC 5869 §2.2): PRK = HMAC-Hash(salt, IKM).
    this.prk = createHmac('sha256', HKDF_SALT).update(secret).digest();
  }

  /** relayKey is the key the coordinator shares with the relay called name. */
  relayKey(name: string): Buffer {
    return this.expand(`${INFO.relay}${name}`);
  }

  /** discoveryKey is the key system systemId MACs its discovery requests with. */
  discoveryKey(systemId: string): Buffer {
    return this.expand(`${INFO.discovery}${systemId}`);
  }

  private expand(info: string): Buffer {
    return createHmac('sha256', this.prk).update(info).update(Uint8Array.of(1)).digest();
  }
}
