// Relay tokens: the coordinator vouches that a system (its id, WireGuard key and machine key)
// may use one relay until a time. The relay first checks the token's MAC with the key it shares
// with the coordinator (one HMAC: forged tokens stop there), then the coordinator's signature
// against its public key and the registration's signature against the machine key inside the
// token, so it needs no database and no connection to the coordinator
// (src-shared/wire/nat-relay.ts has the layout, nat-keys.ts the keys and MACs).
import type { KeyObject } from 'node:crypto';
import { NAT_CONTEXT, signedBytes, withMac, withSignature } from '../wire/nat-wire.js';
import { parseRelayToken, relayTokenBody, splitRelayToken, type RelayToken } from '../wire/nat-relay.js';
import { verifyEd25519 } from './ed25519.js';
import { natMac, natMacOk } from './nat-keys.js';

/** RELAY_TOKEN_LIFETIME_MS: a day; helpers fetch a new one well before it runs out. */
export const RELAY_TOKEN_LIFETIME_MS = 24 * 3600_000;

export interface RelayTokenClaims {
  systemId: string;
  wireguardKey: Uint8Array;
  machineKey: Uint8Array;
  expires: number;
}

/** issueRelayToken signs the claims with the coordinator's key (signing.ts SigningKey) and MACs
 * the result with relayKey, the key of the one relay the token is for (NatKeys.relayKey). */
export function issueRelayToken(
  signer: { sign(message: Uint8Array): Buffer },
  relayKey: Uint8Array,
  c: RelayTokenClaims,
): Buffer {
  const body = relayTokenBody(c.systemId, c.wireguardKey, c.machineKey, c.expires);
  const signed = withSignature(body, signer.sign(signedBytes(NAT_CONTEXT.relayToken, body)));
  return Buffer.from(withMac(signed, natMac(relayKey, NAT_CONTEXT.relayTokenMac, signed)));
}

/** relayTokenMacOk says whether bytes carry a valid MAC under relayKey: one HMAC, no parsing
 * beyond the version and the length. */
export function relayTokenMacOk(bytes: Uint8Array, relayKey: Uint8Array): boolean {
  const parts = splitRelayToken(bytes);
  return parts !== null && natMacOk(relayKey, NAT_CONTEXT.relayTokenMac, parts.maced, parts.mac);
}

/** verifyRelayToken returns the token's claims if the coordinator signed it and it has not
 * expired at `now`; otherwise a short reason. It does not check the MAC (relayTokenMacOk). */
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
