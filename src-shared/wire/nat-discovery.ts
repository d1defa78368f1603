// Endpoint discovery, helper → coordinator UDP port (nat-wire.ts has the shared header):
// Request: [hdr][ver 2][idLen][systemId][ts u64][nonce 16][mac 16][sig 64]
//          mac: HMAC-SHA256 (RFC 2104) truncated to 16 bytes, keyed with the system's discovery
//          key (the coordinator's, derived per system; the helper fetches it), over
//          NAT_CONTEXT.discoveryMac || bytes before mac. Checked before the signature, so a
//          forged request costs the coordinator one or two HMACs, not an Ed25519 verification.
//          signature by the machine key over NAT_CONTEXT.discoveryRequest || bytes before sig
// Reply:   [hdr][ver 1][nonce 16][ip 4 or 16][port u16][sig 64]
//          signature by the coordinator over NAT_CONTEXT.discoveryReply || bytes before sig;
//          the address is IPv4 (4 bytes) or IPv6 (16), told apart by the reply's length.
// A reply (91 or 103 bytes) is smaller than any request (at least 111), so the port cannot amplify.
import {
  dataView,
  DISCOVERY_REQUEST_VERSION,
  encodeSystemId,
  isAddressBytes,
  MAC_BYTES,
  NAT_HEADER_BYTES,
  NAT_LIMITS,
  NAT_VERSION,
  NatKind,
  natKind,
  NONCE_BYTES,
  readSystemId,
  SIGNATURE_BYTES,
  writeNatHeader,
} from './nat-wire.js';

export interface DiscoveryRequest {
  systemId: string;
  ts: number;
  nonce: Uint8Array;
  /** maced: the bytes the MAC covers (without the context) */
  maced: Uint8Array;
  mac: Uint8Array;
  /** signed: the bytes the signature covers (without the context) */
  signed: Uint8Array;
  signature: Uint8Array;
}

/** discoveryRequestBody builds the part the MAC covers; append the MAC with withMac, then the
 * signature with withSignature. */
export function discoveryRequestBody(systemId: string, ts: number, nonce: Uint8Array): Uint8Array {
  const id = encodeSystemId(systemId);
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  const out = new Uint8Array(NAT_HEADER_BYTES + 2 + id.length + 8 + NONCE_BYTES);
  writeNatHeader(out, NatKind.discoveryRequest);
  out[4] = DISCOVERY_REQUEST_VERSION;
  out[5] = id.length;
  out.set(id, 6);
  dataView(out).setBigUint64(6 + id.length, BigInt(ts));
  out.set(nonce, 6 + id.length + 8);
  return out;
}

export function parseDiscoveryRequest(buf: Uint8Array): DiscoveryRequest | null {
  if (natKind(buf) !== NatKind.discoveryRequest || buf.length < 6 || buf[4] !== DISCOVERY_REQUEST_VERSION) return null;
  const idLen = buf[5]!;
  if (idLen < 1 || idLen > NAT_LIMITS.systemIdChars) return null;
  const macAt = 6 + idLen + 8 + NONCE_BYTES;
  const end = macAt + MAC_BYTES;
  if (buf.length !== end + SIGNATURE_BYTES) return null;
  const systemId = readSystemId(buf, 6, idLen);
  if (systemId === null) return null;
  const ts = dataView(buf).getBigUint64(6 + idLen);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    systemId,
    ts: Number(ts),
    nonce: buf.slice(6 + idLen + 8, macAt),
    maced: buf.slice(0, macAt),
    mac: buf.slice(macAt, end),
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIGNATURE_BYTES),
  };
}

export interface DiscoveryReply {
  nonce: Uint8Array;
  /** addr: the address the request came from, 4 bytes (IPv4) or 16 (IPv6), network order */
  addr: Uint8Array;
  port: number;
  signed: Uint8Array;
  signature: Uint8Array;
}

/** discoveryReplyBody builds a reply; addr is 4 bytes (IPv4) or 16 (IPv6) in network order. */
export function discoveryReplyBody(nonce: Uint8Array, addr: Uint8Array, port: number): Uint8Array {
  if (!isAddressBytes(addr)) throw new Error('an address is 4 (IPv4) or 16 (IPv6) bytes');
  const octets = addr;
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  const out = new Uint8Array(NAT_HEADER_BYTES + 1 + NONCE_BYTES + octets.length + 2);
  writeNatHeader(out, NatKind.discoveryReply);
  out[4] = NAT_VERSION;
  out.set(nonce, 5);
  out.set(octets, 5 + NONCE_BYTES);
  dataView(out).setUint16(5 + NONCE_BYTES + octets.length, port);
  return out;
}

export function parseDiscoveryReply(buf: Uint8Array): DiscoveryReply | null {
  const at = 5 + NONCE_BYTES;
  const ipLen = buf.length - at - 2 - SIGNATURE_BYTES;
  if (natKind(buf) !== NatKind.discoveryReply || (ipLen !== 4 && ipLen !== 16) || buf[4] !== NAT_VERSION) return null;
  const end = at + ipLen + 2;
  const port = dataView(buf).getUint16(at + ipLen);
  if (port === 0) return null;
  return {
    nonce: buf.slice(5, 5 + NONCE_BYTES),
    addr: buf.slice(at, at + ipLen),
    port,
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIGNATURE_BYTES),
  };
}
