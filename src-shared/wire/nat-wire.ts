// NAT traversal wire contract: the small UDP (and TCP-framed) messages that travel next to
// WireGuard on the helper's WireGuard port. Three conversations share one header:
//
//   discovery  helper → coordinator UDP port: "what address do you see me at?" (STUN-like),
//              signed with the machine key; the reply is signed with the coordinator's key.
//              Layouts: nat-discovery.ts.
//   disco      helper ↔ helper: ping/pong over a candidate path, authenticated with a key
//              both peers derive from their WireGuard static keys (X25519 static-static).
//              Layouts: nat-disco.ts.
//   relay      helper ↔ warren-relay: register with a coordinator-issued token, then send and
//              receive opaque WireGuard packets addressed by an 8-byte peer id.
//              Layouts: nat-relay.ts; over TCP, each frame is length-prefixed (nat-tcp.ts).
//
// Every message starts with the bytes 'W' 'R' 'N' KIND. Read as WireGuard's little-endian
// u32 message type that is never 1..4, so one socket carries both without ambiguity.
// This file holds the header, the limits and the helpers the nat-* modules share. They only
// encode and parse; signing, MACs and verification are the callers' (they need Node's
// crypto; src-shared/lib/nat-keys.ts has the MACs). No Node imports here. Every parser checks each length before reading and returns
// null for anything malformed: these bytes come from the network.

/** NAT_MAGIC is the first three bytes of every message. */
export const NAT_MAGIC = [0x57, 0x52, 0x4e] as const;

/** NatKind is the fourth byte. */
export const NatKind = {
  discoveryRequest: 0x01,
  discoveryReply: 0x02,
  ping: 0x10,
  pong: 0x11,
  relayRegister: 0x20,
  relayRegistered: 0x21,
  relayRefused: 0x22,
  relaySend: 0x23,
  relayRecv: 0x24,
  /** relayProbe / relayProbeReply: a round-trip probe any relay answers (nat-relay.ts) */
  relayProbe: 0x25,
  relayProbeReply: 0x26,
} as const;
export type NatKindValue = (typeof NatKind)[keyof typeof NatKind];

/** NAT_LIMITS bound what either side accepts. */
export const NAT_LIMITS = {
  systemIdChars: 64,
  /** a relayed payload is one WireGuard message: the tunnel packet padded to 16 bytes but not
   * past the MTU (whitepaper §5.4.6), plus 32 bytes (16 of header, 16 of tag). 65,523 is the
   * most a relay frame can carry on any transport: over TCP a frame is at most 65,535 bytes (its
   * u16 length prefix, nat-tcp.ts) less the 12-byte relay header (nat-relay.ts). Over UDP the
   * IP layer bounds it further: 65,507 bytes of UDP payload over IPv4 (65,535 less 20 of IP and 8
   * of UDP header) leave 65,495 for the WireGuard message, 65,527 over IPv6 leave 65,515. So a
   * tunnel MTU up to 65,463 relays on every path; the helper's Adapter.Mtu (at most 9,000)
   * always does. docs/relay.md has the numbers and the memory they bound. */
  relayPayloadBytes: 65_523,
  relayTokenBytes: 512,
  refusalReasonChars: 120,
  /** accepted clock skew of signed discovery and relay registrations, ms either way */
  skewMs: 60_000,
} as const;

/** Signature and MAC contexts (UTF-8, prefixed to the signed or MACed bytes). */
export const NAT_CONTEXT = {
  discoveryRequest: 'warren-discovery-v2\n',
  discoveryReply: 'warren-discovery-reply-v1\n',
  /** discoveryMac: the MAC of a discovery request, keyed with its system's discovery key */
  discoveryMac: 'warren-discovery-mac-v2\n',
  relayToken: 'warren-relay-token-v2\n',
  /** relayTokenMac: the MAC of a relay token, keyed with the key of the relay it is for */
  relayTokenMac: 'warren-relay-token-mac-v2\n',
  relayRegister: 'warren-relay-register-v1\n',
  discoKey: 'warren-disco-v1',
} as const;

/** NAT_VERSION is the version byte of every message this contract defines, except the two
 * whose layout gained a MAC: relay tokens (RELAY_TOKEN_VERSION) and discovery requests
 * (DISCOVERY_REQUEST_VERSION). Parsers accept exactly their version. */
export const NAT_VERSION = 1;
/** RELAY_TOKEN_VERSION: 2 added the relay's MAC (nat-relay.ts). */
export const RELAY_TOKEN_VERSION = 2;
/** DISCOVERY_REQUEST_VERSION: 2 added the system's MAC (nat-discovery.ts). */
export const DISCOVERY_REQUEST_VERSION = 2;
/** NAT_HEADER_BYTES: 'W' 'R' 'N' KIND. */
export const NAT_HEADER_BYTES = 4;
/** SIGNATURE_BYTES: an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** MAC_BYTES: HMAC-SHA256 truncated to its left half, which RFC 2104 §5 allows (not less
 * than half the hash output, and at least 80 bits). */
export const MAC_BYTES = 16;
/** NONCE_BYTES: the nonce of discovery requests and relay registrations. */
export const NONCE_BYTES = 16;
/** PEER_ID_BYTES: a peer id is the first 8 bytes of its WireGuard public key. */
export const PEER_ID_BYTES = 8;

/** natKind returns the kind of a Warren NAT message, or null if buf is not one (e.g. WireGuard). */
export function natKind(buf: Uint8Array, off = 0, len = buf.length - off): number | null {
  if (len < NAT_HEADER_BYTES) return null;
  if (buf[off] !== NAT_MAGIC[0] || buf[off + 1] !== NAT_MAGIC[1] || buf[off + 2] !== NAT_MAGIC[2]) return null;
  return buf[off + 3]!;
}

/** writeNatHeader writes the magic and kind at the start of out. */
export function writeNatHeader(out: Uint8Array, kind: number): void {
  out[0] = NAT_MAGIC[0];
  out[1] = NAT_MAGIC[1];
  out[2] = NAT_MAGIC[2];
  out[3] = kind;
}

/** dataView reads and writes the big-endian fields of b. */
export function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const ascii = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPrintableId(s: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(s);
}

/** encodeSystemId returns the bytes of a system id, or throws if it is not 1-64 printable characters. */
export function encodeSystemId(systemId: string): Uint8Array {
  if (!isPrintableId(systemId)) throw new Error('system id must be 1-64 characters [A-Za-z0-9_.:-]');
  return ascii.encode(systemId);
}

/** readSystemId decodes the system id in buf[at, at+len), or returns null unless it is printable UTF-8. */
export function readSystemId(buf: Uint8Array, at: number, len: number): string | null {
  let systemId: string;
  try {
    systemId = utf8.decode(buf.subarray(at, at + len));
  } catch {
    return null;
  }
  return isPrintableId(systemId) ? systemId : null;
}

/** peerId is the 8-byte relay and disco id of a WireGuard public key. */
export function peerId(publicKey: Uint8Array): Uint8Array {
  return publicKey.subarray(0, PEER_ID_BYTES);
}

/** peerIdHex names a peer id in maps and logs. */
export function peerIdHex(id: Uint8Array): string {
  let s = '';
  for (const b of id) s += b.toString(16).padStart(2, '0');
  return s;
}

/** signedBytes returns UTF-8(context) || body: the bytes a signature covers. */
export function signedBytes(context: string, body: Uint8Array): Uint8Array {
  const c = ascii.encode(context);
  const out = new Uint8Array(c.length + body.length);
  out.set(c, 0);
  out.set(body, c.length);
  return out;
}

/** withSignature appends a 64-byte signature to a body. */
export function withSignature(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`signature must be ${SIGNATURE_BYTES} bytes`);
  const out = new Uint8Array(body.length + SIGNATURE_BYTES);
  out.set(body, 0);
  out.set(signature, body.length);
  return out;
}

/** withMac appends a MAC_BYTES MAC to a body. */
export function withMac(body: Uint8Array, mac: Uint8Array): Uint8Array {
  if (mac.length !== MAC_BYTES) throw new Error(`a MAC must be ${MAC_BYTES} bytes`);
  const out = new Uint8Array(body.length + MAC_BYTES);
  out.set(body, 0);
  out.set(mac, body.length);
  return out;
}

/** isAddressBytes tells whether b can be an address field: 4 bytes (IPv4) or 16 (IPv6), in
 * network order. The messages that carry an address (discovery replies, pongs) tell the family
 * by their length, so one layout serves both without a family byte; converting to and from
 * text is src-shared/lib/ip/octets.ts's. */
export function isAddressBytes(b: Uint8Array): boolean {
  return b instanceof Uint8Array && (b.length === 4 || b.length === 16);
}

/** ipv4Octets parses a dotted quad, or returns null. */
export function ipv4Octets(ip: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return Uint8Array.from(o);
}
