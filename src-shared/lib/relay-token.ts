// Relay tokens: the coordinator vouches that a system (its id, WireGuard key and machine key)
// may use relays until a time. A relay checks the token against the coordinator's public key
// and the registration's signature against the machine key inside the token, so it needs no
// database and no connection to the coordinator (src-shared/wire/nat-relay.ts has the layout).
import type { KeyObject } from 'node:crypto';
import { NAT_CONTEXT, signedBytes, withSignature } from '../wire/nat-wire.js';
import { parseRelayToken, relayTokenBody, type RelayToken } from '../wire/nat-relay.js';
import { verifyEd25519 } from './ed25519.js';

/** RELAY_TOKEN_LIFETIME_MS: a day; helpers fetch a new one well before it runs out. */
export const RELAY_TOKEN_LIFETIME_MS = 24 * 3600_000;

export interface RelayTokenClaims {
  systemId: string;
  wireguardKey: Uint8Array;
  machineKey: Uint8Array;
  expires: number;
}

/** issueRelayToken signs the claims with the coordinator's key (signing.ts SigningKey). */
export function issueRelayToken(signer: { sign(message: Uint8Array): Buffer }, c: RelayTokenClaims): Buffer {
  const body = relayTokenBody(c.systemId, c.wireguardKey, c.machineKey, c.expires);
  return Buffer.from(withSignature(body, signer.sign(signedBytes(NAT_CONTEXT.relayToken, body))));
}

/** verifyRelayToken returns the token's claims if the coordinator signed it and it has not
 * expired at `now`; otherwise a short reason. */
export function verifyRelayToken(
  bytes: Uint8Array,
  coordinatorKey: KeyObject | Uint8Array,
  now: number,
): { ok: true; token: RelayToken } | { ok: false; reason: string } {
  const token = parseRelayToken(bytes);
  if (token === null) return { ok: false, reason: 'malformed token' };
  if (!verifyEd25519(coordinatorKey, signedBytes(NAT_CONTEXT.relayToken, token.signed), token.signature)) {
    return { ok: false, reason: "token not signed by this relay's coordinator" };
  }
  if (token.expires <= now) return { ok: false, reason: 'token expired' };
  return { ok: true, token };
}
