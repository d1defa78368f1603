// Disco: the ping/pong that tells whether a path to a peer works and how fast it is. Both peers
// derive the same key from their WireGuard static keys (X25519 static-static, as the Noise
// handshake's `ss` does), so a pong proves it came from the peer and nobody else, with no new
// keys to distribute. The MAC is truncated HMAC-SHA256 (nat-disco.ts has the layout).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NAT_CONTEXT } from '../../../src-shared/wire/nat-wire.js';
import {
  DISCO_MAC_BYTES,
  DISCO_TXID_BYTES,
  discoBody,
  parseDisco,
  withMac,
  type DiscoMessage,
} from '../../../src-shared/wire/nat-disco.js';
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { ipToOctets } from '../../../src-shared/lib/ip/octets.js';
import { dh } from '../wireguard/noise/crypto.js';

/** discoKey derives the pair's disco key, or null for a public key that gives no secret. */
export function discoKey(ownPrivate: Buffer, peerPublic: Buffer): Buffer | null {
  const shared = dh(ownPrivate, peerPublic);
  if (shared === null) return null;
  return createHash('sha256').update(NAT_CONTEXT.discoKey).update(shared).digest();
}

function mac(key: Buffer, input: Uint8Array): Buffer {
  return createHmac('sha256', key).update(input).digest().subarray(0, DISCO_MAC_BYTES);
}

/** newTxid is a fresh random transaction id. */
export function newTxid(): Buffer {
  return randomBytes(DISCO_TXID_BYTES);
}

/** sealPing builds an authenticated ping from ownId. */
export function sealPing(key: Buffer, ownId: Uint8Array, txid: Uint8Array): Buffer {
  const body = discoBody('ping', ownId, txid);
  return Buffer.from(withMac(body, mac(key, body)));
}

/** sealPong answers a ping, saying where it came from (an address of either family). */
export function sealPong(key: Buffer, ownId: Uint8Array, txid: Uint8Array, seen: IpAddress, port: number): Buffer {
  const body = discoBody('pong', ownId, txid, { addr: ipToOctets(seen), port });
  return Buffer.from(withMac(body, mac(key, body)));
}

/** openDisco parses a ping or pong; the caller finds the key by m.senderId and checks it with
 * discoAuthentic before believing anything in it. */
export function openDisco(buf: Uint8Array): DiscoMessage | null {
  return parseDisco(buf);
}

/** discoAuthentic checks the MAC in constant time. */
export function discoAuthentic(key: Buffer, m: DiscoMessage): boolean {
  const want = mac(key, m.macInput);
  return m.mac.length === want.length && timingSafeEqual(Buffer.from(m.mac), want);
}
