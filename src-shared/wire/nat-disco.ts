// Disco, helper ↔ helper over a candidate path (nat-wire.ts has the shared header):
//   ping [hdr][ver][sender id 8][txid 12][mac 16]
//   pong [hdr][ver][sender id 8][txid 12][seen ip 4 or 16][seen port u16][mac 16]
//        the seen address is IPv4 (4 bytes) or IPv6 (16), told apart by the pong's length
//        (62 or 74 bytes), so version 1 still describes both.
// mac = first 16 bytes of HMAC-SHA256(discoKey, bytes before the mac), where discoKey =
// SHA-256(NAT_CONTEXT.discoKey || X25519(own private, peer public)); both peers compute it.
import {
  dataView,
  isAddressBytes,
  MAC_BYTES,
  NAT_HEADER_BYTES,
  NAT_VERSION,
  NatKind,
  natKind,
  PEER_ID_BYTES,
  writeNatHeader,
} from './nat-wire.js';

export { withMac } from './nat-wire.js';

const TXID = 12;
const MAC = MAC_BYTES;

export interface DiscoMessage {
  kind: 'ping' | 'pong';
  senderId: Uint8Array;
  txid: Uint8Array;
  /** pong only: the address the pong's sender saw the ping come from (4 or 16 bytes, network order) */
  seen: DiscoSeen | null;
  macInput: Uint8Array;
  mac: Uint8Array;
}

/** DiscoSeen is a pong's address (4 bytes for IPv4, 16 for IPv6, network order) and port. */
export interface DiscoSeen {
  addr: Uint8Array;
  port: number;
}

export const DISCO_TXID_BYTES = TXID;
export const DISCO_MAC_BYTES = MAC;

/** discoBody builds a ping or pong without its MAC; append the MAC with withMac. */
export function discoBody(kind: 'ping' | 'pong', senderId: Uint8Array, txid: Uint8Array, seen?: DiscoSeen): Uint8Array {
  if (senderId.length !== PEER_ID_BYTES || txid.length !== TXID) throw new Error('bad sender id or txid length');
  const pong = kind === 'pong';
  const o = pong && seen && isAddressBytes(seen.addr) ? seen.addr : null;
  if (pong && o === null) throw new Error('a pong carries the address the ping came from (4 or 16 bytes)');
  const out = new Uint8Array(NAT_HEADER_BYTES + 1 + PEER_ID_BYTES + TXID + (o !== null ? o.length + 2 : 0));
  writeNatHeader(out, pong ? NatKind.pong : NatKind.ping);
  out[4] = NAT_VERSION;
  out.set(senderId, 5);
  out.set(txid, 5 + PEER_ID_BYTES);
  if (o !== null) {
    out.set(o, 5 + PEER_ID_BYTES + TXID);
    dataView(out).setUint16(5 + PEER_ID_BYTES + TXID + o.length, seen!.port);
  }
  return out;
}

export function parseDisco(buf: Uint8Array): DiscoMessage | null {
  const kind = natKind(buf);
  if ((kind !== NatKind.ping && kind !== NatKind.pong) || buf.length < 5 || buf[4] !== NAT_VERSION) return null;
  const pong = kind === NatKind.pong;
  const at = 5 + PEER_ID_BYTES + TXID;
  // A pong's seen address is 4 or 16 bytes; every other length is refused.
  const ipLen = pong ? buf.length - at - 2 - MAC : 0;
  if (pong && ipLen !== 4 && ipLen !== 16) return null;
  const end = at + (pong ? ipLen + 2 : 0);
  if (buf.length !== end + MAC) return null;
  let seen: DiscoMessage['seen'] = null;
  if (pong) {
    const port = dataView(buf).getUint16(at + ipLen);
    if (port === 0) return null;
    seen = { addr: buf.slice(at, at + ipLen), port };
  }
  return {
    kind: pong ? 'pong' : 'ping',
    senderId: buf.slice(5, 5 + PEER_ID_BYTES),
    txid: buf.slice(5 + PEER_ID_BYTES, 5 + PEER_ID_BYTES + TXID),
    seen,
    macInput: buf.subarray(0, end),
    mac: buf.subarray(end, end + MAC),
  };
}
