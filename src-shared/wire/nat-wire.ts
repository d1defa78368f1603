// NAT traversal wire contract: the small UDP (and TCP-framed) messages that travel next to
// WireGuard on the helper's WireGuard port. Three conversations share one header:
//
//   discovery  helper → coordinator UDP port: "what address do you see me at?" (STUN-like),
//              signed with the machine key; the reply is signed with the coordinator's key.
//   disco      helper ↔ helper: ping/pong over a candidate path, authenticated with a key
//              both peers derive from their WireGuard static keys (X25519 static-static).
//   relay      helper ↔ warren-relay: register with a coordinator-issued token, then send and
//              receive opaque WireGuard packets addressed by an 8-byte peer id.
//
// Every message starts with the bytes 'W' 'R' 'N' KIND. Read as WireGuard's little-endian
// u32 message type that is never 1..4, so one socket carries both without ambiguity.
// This file only encodes and parses; signing, MACs and verification are the callers' (they
// need Node's crypto). No Node imports here. Every parser checks each length before reading
// and returns null for anything malformed: these bytes come from the network.

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
} as const;
export type NatKindValue = (typeof NatKind)[keyof typeof NatKind];

/** NAT_LIMITS bound what either side accepts. */
export const NAT_LIMITS = {
  systemIdChars: 64,
  /** a relayed payload is one WireGuard message: at most MTU (1420 by default, 9000 with jumbo
   * profiles is refused) plus 32 bytes of WireGuard overhead; 2048 leaves room. */
  relayPayloadBytes: 2048,
  relayTokenBytes: 512,
  refusalReasonChars: 120,
  /** accepted clock skew of signed discovery and relay registrations, ms either way */
  skewMs: 60_000,
} as const;

/** Signature contexts (UTF-8, prefixed to the signed bytes). */
export const NAT_CONTEXT = {
  discoveryRequest: 'warren-discovery-v1\n',
  discoveryReply: 'warren-discovery-reply-v1\n',
  relayToken: 'warren-relay-token-v1\n',
  relayRegister: 'warren-relay-register-v1\n',
  discoKey: 'warren-disco-v1',
} as const;

const VERSION = 1;
const HEADER = 4;
const SIG = 64;
const NONCE = 16;
/** PEER_ID_BYTES: a peer id is the first 8 bytes of its WireGuard public key. */
export const PEER_ID_BYTES = 8;
/** RELAY_HEADER_BYTES precede the payload of relaySend and relayRecv. */
export const RELAY_HEADER_BYTES = HEADER + PEER_ID_BYTES;
const TXID = 12;
const MAC = 16;

/** natKind returns the kind of a Warren NAT message, or null if buf is not one (e.g. WireGuard). */
export function natKind(buf: Uint8Array, off = 0, len = buf.length - off): number | null {
  if (len < HEADER) return null;
  if (buf[off] !== NAT_MAGIC[0] || buf[off + 1] !== NAT_MAGIC[1] || buf[off + 2] !== NAT_MAGIC[2]) return null;
  return buf[off + 3]!;
}

function header(out: Uint8Array, kind: number): void {
  out[0] = NAT_MAGIC[0];
  out[1] = NAT_MAGIC[1];
  out[2] = NAT_MAGIC[2];
  out[3] = kind;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const ascii = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPrintableId(s: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(s);
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

// ---------------------------------------------------------------------------------------
// Discovery: [hdr][ver][idLen][systemId][ts u64][nonce 16][sig 64]
//            signature by the machine key over NAT_CONTEXT.discoveryRequest || bytes before sig
// Reply:     [hdr][ver][nonce 16][ip 4][port u16][sig 64]
//            signature by the coordinator over NAT_CONTEXT.discoveryReply || bytes before sig
// The reply (91 bytes) is smaller than any request (at least 95), so the port cannot amplify.

export interface DiscoveryRequest {
  systemId: string;
  ts: number;
  nonce: Uint8Array;
  /** signed: the bytes the signature covers (without the context) */
  signed: Uint8Array;
  signature: Uint8Array;
}

/** discoveryRequestBody builds the unsigned part; append the signature with withSignature. */
export function discoveryRequestBody(systemId: string, ts: number, nonce: Uint8Array): Uint8Array {
  if (!isPrintableId(systemId)) throw new Error('system id must be 1-64 characters [A-Za-z0-9_.:-]');
  if (nonce.length !== NONCE) throw new Error(`nonce must be ${NONCE} bytes`);
  const id = ascii.encode(systemId);
  const out = new Uint8Array(HEADER + 2 + id.length + 8 + NONCE);
  header(out, NatKind.discoveryRequest);
  out[4] = VERSION;
  out[5] = id.length;
  out.set(id, 6);
  view(out).setBigUint64(6 + id.length, BigInt(ts));
  out.set(nonce, 6 + id.length + 8);
  return out;
}

/** withSignature appends a 64-byte signature to a body. */
export function withSignature(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIG) throw new Error(`signature must be ${SIG} bytes`);
  const out = new Uint8Array(body.length + SIG);
  out.set(body, 0);
  out.set(signature, body.length);
  return out;
}

export function parseDiscoveryRequest(buf: Uint8Array): DiscoveryRequest | null {
  if (natKind(buf) !== NatKind.discoveryRequest || buf.length < 6 || buf[4] !== VERSION) return null;
  const idLen = buf[5]!;
  if (idLen < 1 || idLen > NAT_LIMITS.systemIdChars) return null;
  const end = 6 + idLen + 8 + NONCE;
  if (buf.length !== end + SIG) return null;
  let systemId: string;
  try {
    systemId = utf8.decode(buf.subarray(6, 6 + idLen));
  } catch {
    return null;
  }
  if (!isPrintableId(systemId)) return null;
  const ts = view(buf).getBigUint64(6 + idLen);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    systemId,
    ts: Number(ts),
    nonce: buf.slice(6 + idLen + 8, end),
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIG),
  };
}

export interface DiscoveryReply {
  nonce: Uint8Array;
  ip: string;
  port: number;
  signed: Uint8Array;
  signature: Uint8Array;
}

export function discoveryReplyBody(nonce: Uint8Array, ip: string, port: number): Uint8Array {
  const octets = ipv4Octets(ip);
  if (octets === null) throw new Error(`${ip} is not an IPv4 address`);
  if (nonce.length !== NONCE) throw new Error(`nonce must be ${NONCE} bytes`);
  const out = new Uint8Array(HEADER + 1 + NONCE + 6);
  header(out, NatKind.discoveryReply);
  out[4] = VERSION;
  out.set(nonce, 5);
  out.set(octets, 5 + NONCE);
  view(out).setUint16(5 + NONCE + 4, port);
  return out;
}

export function parseDiscoveryReply(buf: Uint8Array): DiscoveryReply | null {
  const end = HEADER + 1 + NONCE + 6;
  if (natKind(buf) !== NatKind.discoveryReply || buf.length !== end + SIG || buf[4] !== VERSION) return null;
  const port = view(buf).getUint16(5 + NONCE + 4);
  if (port === 0) return null;
  const o = buf.subarray(5 + NONCE, 5 + NONCE + 4);
  return {
    nonce: buf.slice(5, 5 + NONCE),
    ip: `${o[0]}.${o[1]}.${o[2]}.${o[3]}`,
    port,
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIG),
  };
}

// ---------------------------------------------------------------------------------------
// Disco: ping [hdr][ver][sender id 8][txid 12][mac 16]
//        pong [hdr][ver][sender id 8][txid 12][seen ip 4][seen port u16][mac 16]
// mac = first 16 bytes of HMAC-SHA256(discoKey, bytes before the mac), where discoKey =
// SHA-256(NAT_CONTEXT.discoKey || X25519(own private, peer public)); both peers compute it.

export interface DiscoMessage {
  kind: 'ping' | 'pong';
  senderId: Uint8Array;
  txid: Uint8Array;
  /** pong only: the address the pong's sender saw the ping come from */
  seen: { ip: string; port: number } | null;
  macInput: Uint8Array;
  mac: Uint8Array;
}

export const DISCO_TXID_BYTES = TXID;
export const DISCO_MAC_BYTES = MAC;

/** discoBody builds a ping or pong without its MAC; append the MAC with withMac. */
export function discoBody(kind: 'ping' | 'pong', senderId: Uint8Array, txid: Uint8Array, seen?: { ip: string; port: number }): Uint8Array {
  if (senderId.length !== PEER_ID_BYTES || txid.length !== TXID) throw new Error('bad sender id or txid length');
  const pong = kind === 'pong';
  const out = new Uint8Array(HEADER + 1 + PEER_ID_BYTES + TXID + (pong ? 6 : 0));
  header(out, pong ? NatKind.pong : NatKind.ping);
  out[4] = VERSION;
  out.set(senderId, 5);
  out.set(txid, 5 + PEER_ID_BYTES);
  if (pong) {
    const o = seen ? ipv4Octets(seen.ip) : null;
    if (!seen || o === null) throw new Error('a pong carries the address the ping came from');
    out.set(o, 5 + PEER_ID_BYTES + TXID);
    view(out).setUint16(5 + PEER_ID_BYTES + TXID + 4, seen.port);
  }
  return out;
}

export function withMac(body: Uint8Array, mac: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + MAC);
  out.set(body, 0);
  out.set(mac.subarray(0, MAC), body.length);
  return out;
}

export function parseDisco(buf: Uint8Array): DiscoMessage | null {
  const kind = natKind(buf);
  if ((kind !== NatKind.ping && kind !== NatKind.pong) || buf.length < 5 || buf[4] !== VERSION) return null;
  const pong = kind === NatKind.pong;
  const end = HEADER + 1 + PEER_ID_BYTES + TXID + (pong ? 6 : 0);
  if (buf.length !== end + MAC) return null;
  let seen: DiscoMessage['seen'] = null;
  if (pong) {
    const at = 5 + PEER_ID_BYTES + TXID;
    const port = view(buf).getUint16(at + 4);
    if (port === 0) return null;
    seen = { ip: `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`, port };
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

// ---------------------------------------------------------------------------------------
// Relay token (issued by the coordinator, opaque to the helper, checked by the relay):
//   [ver][idLen][systemId][wireguard public key 32][machine public key 32][expires u64 ms][sig 64]
//   sig by the coordinator over NAT_CONTEXT.relayToken || bytes before sig

export interface RelayToken {
  systemId: string;
  wireguardKey: Uint8Array;
  machineKey: Uint8Array;
  expires: number;
  signed: Uint8Array;
  signature: Uint8Array;
}

export function relayTokenBody(systemId: string, wireguardKey: Uint8Array, machineKey: Uint8Array, expires: number): Uint8Array {
  if (!isPrintableId(systemId)) throw new Error('system id must be 1-64 characters [A-Za-z0-9_.:-]');
  if (wireguardKey.length !== 32 || machineKey.length !== 32) throw new Error('keys are 32 bytes');
  const id = ascii.encode(systemId);
  const out = new Uint8Array(2 + id.length + 64 + 8);
  out[0] = VERSION;
  out[1] = id.length;
  out.set(id, 2);
  out.set(wireguardKey, 2 + id.length);
  out.set(machineKey, 2 + id.length + 32);
  view(out).setBigUint64(2 + id.length + 64, BigInt(expires));
  return out;
}

export function parseRelayToken(buf: Uint8Array): RelayToken | null {
  if (buf.length < 2 || buf[0] !== VERSION) return null;
  const idLen = buf[1]!;
  if (idLen < 1 || idLen > NAT_LIMITS.systemIdChars) return null;
  const end = 2 + idLen + 64 + 8;
  if (buf.length !== end + SIG) return null;
  let systemId: string;
  try {
    systemId = utf8.decode(buf.subarray(2, 2 + idLen));
  } catch {
    return null;
  }
  if (!isPrintableId(systemId)) return null;
  const expires = view(buf).getBigUint64(2 + idLen + 64);
  if (expires > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    systemId,
    wireguardKey: buf.slice(2 + idLen, 2 + idLen + 32),
    machineKey: buf.slice(2 + idLen + 32, 2 + idLen + 64),
    expires: Number(expires),
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIG),
  };
}

// Relay register: [hdr][ver][tokenLen u16][token][ts u64][nonce 16][sig 64]
//   sig by the machine key named in the token over relayRegisterContext(RELAY NAME) || bytes
//   before sig. The relay's name (as maps list it) is signed in, so a registration captured at
//   one relay cannot be replayed at another.
// Registered:     [hdr][ver][nonce 16][refresh seconds u16]
// Refused:        [hdr][ver][nonce 16][reasonLen][reason ASCII]
// Send / Recv:    [hdr][peer id 8][payload]  (Send: the destination; Recv: the source)

/** RELAY_NAME is what a relay may be called (maps, `warren-relay --name`). */
export const RELAY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** relayRegisterContext is the signature context of a registration meant for relay `name`. */
export function relayRegisterContext(name: string): string {
  return `${NAT_CONTEXT.relayRegister}${name}\n`;
}

export interface RelayRegister {
  token: Uint8Array;
  ts: number;
  nonce: Uint8Array;
  signed: Uint8Array;
  signature: Uint8Array;
}

export function relayRegisterBody(token: Uint8Array, ts: number, nonce: Uint8Array): Uint8Array {
  if (token.length < 1 || token.length > NAT_LIMITS.relayTokenBytes) throw new Error('bad token length');
  if (nonce.length !== NONCE) throw new Error(`nonce must be ${NONCE} bytes`);
  const out = new Uint8Array(HEADER + 3 + token.length + 8 + NONCE);
  header(out, NatKind.relayRegister);
  out[4] = VERSION;
  view(out).setUint16(5, token.length);
  out.set(token, 7);
  view(out).setBigUint64(7 + token.length, BigInt(ts));
  out.set(nonce, 7 + token.length + 8);
  return out;
}

export function parseRelayRegister(buf: Uint8Array): RelayRegister | null {
  if (natKind(buf) !== NatKind.relayRegister || buf.length < 7 || buf[4] !== VERSION) return null;
  const tlen = view(buf).getUint16(5);
  if (tlen < 1 || tlen > NAT_LIMITS.relayTokenBytes) return null;
  const end = 7 + tlen + 8 + NONCE;
  if (buf.length !== end + SIG) return null;
  const ts = view(buf).getBigUint64(7 + tlen);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    token: buf.slice(7, 7 + tlen),
    ts: Number(ts),
    nonce: buf.slice(7 + tlen + 8, end),
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIG),
  };
}

export function relayRegistered(nonce: Uint8Array, refreshSeconds: number): Uint8Array {
  if (nonce.length !== NONCE) throw new Error(`nonce must be ${NONCE} bytes`);
  const out = new Uint8Array(HEADER + 1 + NONCE + 2);
  header(out, NatKind.relayRegistered);
  out[4] = VERSION;
  out.set(nonce.subarray(0, NONCE), 5);
  view(out).setUint16(5 + NONCE, Math.max(1, Math.min(65535, Math.floor(refreshSeconds))));
  return out;
}

export function parseRelayRegistered(buf: Uint8Array): { nonce: Uint8Array; refreshSeconds: number } | null {
  if (natKind(buf) !== NatKind.relayRegistered || buf.length !== HEADER + 1 + NONCE + 2 || buf[4] !== VERSION) return null;
  const refreshSeconds = view(buf).getUint16(5 + NONCE);
  if (refreshSeconds === 0) return null;
  return { nonce: buf.slice(5, 5 + NONCE), refreshSeconds };
}

export function relayRefused(nonce: Uint8Array, reason: string): Uint8Array {
  if (nonce.length !== NONCE) throw new Error(`nonce must be ${NONCE} bytes`);
  const r = ascii.encode(reason.replace(/[^\x20-\x7e]/g, '?').slice(0, NAT_LIMITS.refusalReasonChars));
  const out = new Uint8Array(HEADER + 1 + NONCE + 1 + r.length);
  header(out, NatKind.relayRefused);
  out[4] = VERSION;
  out.set(nonce.subarray(0, NONCE), 5);
  out[5 + NONCE] = r.length;
  out.set(r, 6 + NONCE);
  return out;
}

export function parseRelayRefused(buf: Uint8Array): { nonce: Uint8Array; reason: string } | null {
  if (natKind(buf) !== NatKind.relayRefused || buf.length < 6 + NONCE || buf[4] !== VERSION) return null;
  const n = buf[5 + NONCE]!;
  if (buf.length !== 6 + NONCE + n) return null;
  let reason = '';
  for (const c of buf.subarray(6 + NONCE)) reason += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '?';
  return { nonce: buf.slice(5, 5 + NONCE), reason };
}

/** writeRelayHeader writes the 12-byte header of a relaySend/relayRecv frame at `at`. */
export function writeRelayHeader(out: Uint8Array, at: number, kind: typeof NatKind.relaySend | typeof NatKind.relayRecv, id: Uint8Array): void {
  out[at] = NAT_MAGIC[0];
  out[at + 1] = NAT_MAGIC[1];
  out[at + 2] = NAT_MAGIC[2];
  out[at + 3] = kind;
  out.set(id.subarray(0, PEER_ID_BYTES), at + HEADER);
}

/** relayFrame returns header + payload as one new buffer. */
export function relayFrame(kind: typeof NatKind.relaySend | typeof NatKind.relayRecv, id: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RELAY_HEADER_BYTES + payload.length);
  writeRelayHeader(out, 0, kind, id);
  out.set(payload, RELAY_HEADER_BYTES);
  return out;
}

/** parseRelayFrame reads a send/recv frame at buf[off, off+len); the payload is a view. */
export function parseRelayFrame(buf: Uint8Array, off = 0, len = buf.length - off):
  { kind: 'send' | 'recv'; id: Uint8Array; payloadOffset: number; payloadLength: number } | null {
  const kind = natKind(buf, off, len);
  if (kind !== NatKind.relaySend && kind !== NatKind.relayRecv) return null;
  if (len <= RELAY_HEADER_BYTES || len - RELAY_HEADER_BYTES > NAT_LIMITS.relayPayloadBytes) return null;
  return {
    kind: kind === NatKind.relaySend ? 'send' : 'recv',
    id: buf.subarray(off + HEADER, off + RELAY_HEADER_BYTES),
    payloadOffset: off + RELAY_HEADER_BYTES,
    payloadLength: len - RELAY_HEADER_BYTES,
  };
}

/** TCP framing: each frame is preceded by its length as a u16 (big-endian). */
export const TCP_FRAME_PREFIX = 2;
export const TCP_MAX_FRAME = HEADER + 3 + NAT_LIMITS.relayTokenBytes + 8 + NONCE + SIG + 64;

/** TcpFrameReader splits a TCP byte stream into frames; a length over maxFrame is fatal. */
export class TcpFrameReader {
  private pending: Uint8Array = new Uint8Array(0);
  constructor(private readonly maxFrame = Math.max(TCP_MAX_FRAME, RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes)) {}

  /** push returns the complete frames in chunk (plus what was pending), or null if the stream is bad. */
  push(chunk: Uint8Array): Uint8Array[] | null {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    while (buf.length - at >= TCP_FRAME_PREFIX) {
      const n = (buf[at]! << 8) | buf[at + 1]!;
      if (n === 0 || n > this.maxFrame) return null;
      if (buf.length - at - TCP_FRAME_PREFIX < n) break;
      frames.push(buf.slice(at + TCP_FRAME_PREFIX, at + TCP_FRAME_PREFIX + n));
      at += TCP_FRAME_PREFIX + n;
    }
    this.pending = buf.slice(at);
    return frames;
  }
}

/** tcpFrame prefixes a frame with its length. */
export function tcpFrame(frame: Uint8Array): Uint8Array {
  if (frame.length === 0 || frame.length > 65535) throw new Error('frame length out of range');
  const out = new Uint8Array(TCP_FRAME_PREFIX + frame.length);
  out[0] = frame.length >> 8;
  out[1] = frame.length & 0xff;
  out.set(frame, TCP_FRAME_PREFIX);
  return out;
}

/** ipv4Octets parses a dotted quad, or returns null. */
export function ipv4Octets(ip: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return Uint8Array.from(o);
}
