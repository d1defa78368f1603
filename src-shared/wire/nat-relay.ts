// Relay, helper ↔ warren-relay (nat-wire.ts has the shared header).
//
// Relay token (issued by the coordinator for one relay, opaque to the helper, checked by that relay):
//   [ver 2][idLen][systemId][wireguard public key 32][machine public key 32][expires u64 ms][sig 64][mac 16]
//   sig by the coordinator over NAT_CONTEXT.relayToken || bytes before sig
//   mac: HMAC-SHA256 (RFC 2104), truncated to 16 bytes, keyed with the key the coordinator shares
//   with that relay, over NAT_CONTEXT.relayTokenMac || bytes before mac. The relay checks it
//   before any signature: a token that did not come from the coordinator costs one HMAC to drop.
// Relay register: [hdr][ver][tokenLen u16][token][ts u64][nonce 16][sig 64]
//   sig by the machine key named in the token over relayRegisterContext(RELAY NAME) || bytes
//   before sig. The relay's name (as maps list it) is signed in, so a registration captured at
//   one relay cannot be replayed at another.
// Registered:     [hdr][ver][nonce 16][refresh seconds u16]
// Refused:        [hdr][ver][nonce 16][reasonLen][reason ASCII]
// Send / Recv:    [hdr][peer id 8][payload]  (Send: the destination; Recv: the source)
// Probe:          [hdr][ver][nonce 16][padding to RELAY_PROBE_BYTES]
// Probe reply:    [hdr][ver][nonce 16][regionLen][region ASCII]  (always shorter than the probe)
import {
  dataView,
  encodeSystemId,
  MAC_BYTES,
  NAT_CONTEXT,
  NAT_HEADER_BYTES,
  NAT_LIMITS,
  NAT_MAGIC,
  NAT_VERSION,
  NatKind,
  natKind,
  NONCE_BYTES,
  PEER_ID_BYTES,
  readSystemId,
  RELAY_TOKEN_VERSION,
  SIGNATURE_BYTES,
  writeNatHeader,
} from './nat-wire.js';

/** RELAY_HEADER_BYTES precede the payload of relaySend and relayRecv. */
export const RELAY_HEADER_BYTES = NAT_HEADER_BYTES + PEER_ID_BYTES;

/** UDP_MAX_PAYLOAD is the most a UDP datagram carries without IPv6 jumbograms: 65,535 less the
 * 8-byte UDP header (RFC 768), and for IPv4 the 20-byte IP header too (RFC 791). A relay frame
 * larger than this can travel over TCP only. */
export const UDP_MAX_PAYLOAD = { v4: 65_507, v6: 65_527 } as const;

/** udpMaxPayload is UDP_MAX_PAYLOAD for an address written as text (IPv6 has a colon). */
export function udpMaxPayload(ip: string): number {
  return ip.includes(':') ? UDP_MAX_PAYLOAD.v6 : UDP_MAX_PAYLOAD.v4;
}

const ascii = new TextEncoder();

export interface RelayToken {
  systemId: string;
  wireguardKey: Uint8Array;
  machineKey: Uint8Array;
  expires: number;
  signed: Uint8Array;
  signature: Uint8Array;
  mac: Uint8Array;
}

/** RELAY_TOKEN_MIN_BYTES is the shortest token (a one-character system id). */
const RELAY_TOKEN_MIN_BYTES = 2 + 1 + 64 + 8 + SIGNATURE_BYTES + MAC_BYTES;

export function relayTokenBody(
  systemId: string,
  wireguardKey: Uint8Array,
  machineKey: Uint8Array,
  expires: number,
): Uint8Array {
  const id = encodeSystemId(systemId);
  if (wireguardKey.length !== 32 || machineKey.length !== 32) throw new Error('keys are 32 bytes');
  const out = new Uint8Array(2 + id.length + 64 + 8);
  out[0] = RELAY_TOKEN_VERSION;
  out[1] = id.length;
  out.set(id, 2);
  out.set(wireguardKey, 2 + id.length);
  out.set(machineKey, 2 + id.length + 32);
  dataView(out).setBigUint64(2 + id.length + 64, BigInt(expires));
  return out;
}

/** splitRelayToken returns views of what a token's MAC covers and of the MAC, without parsing
 * the rest (the relay checks the MAC first), or null if it cannot be a token of this version. */
export function splitRelayToken(buf: Uint8Array): { maced: Uint8Array; mac: Uint8Array } | null {
  if (buf.length < RELAY_TOKEN_MIN_BYTES || buf[0] !== RELAY_TOKEN_VERSION) return null;
  const at = buf.length - MAC_BYTES;
  return { maced: buf.subarray(0, at), mac: buf.subarray(at) };
}

export function parseRelayToken(buf: Uint8Array): RelayToken | null {
  if (buf.length < 2 || buf[0] !== RELAY_TOKEN_VERSION) return null;
  const idLen = buf[1]!;
  if (idLen < 1 || idLen > NAT_LIMITS.systemIdChars) return null;
  const end = 2 + idLen + 64 + 8;
  if (buf.length !== end + SIGNATURE_BYTES + MAC_BYTES) return null;
  const systemId = readSystemId(buf, 2, idLen);
  if (systemId === null) return null;
  const expires = dataView(buf).getBigUint64(2 + idLen + 64);
  if (expires > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    systemId,
    wireguardKey: buf.slice(2 + idLen, 2 + idLen + 32),
    machineKey: buf.slice(2 + idLen + 32, 2 + idLen + 64),
    expires: Number(expires),
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIGNATURE_BYTES),
    mac: buf.slice(end + SIGNATURE_BYTES),
  };
}

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
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  const out = new Uint8Array(NAT_HEADER_BYTES + 3 + token.length + 8 + NONCE_BYTES);
  writeNatHeader(out, NatKind.relayRegister);
  out[4] = NAT_VERSION;
  dataView(out).setUint16(5, token.length);
  out.set(token, 7);
  dataView(out).setBigUint64(7 + token.length, BigInt(ts));
  out.set(nonce, 7 + token.length + 8);
  return out;
}

export function parseRelayRegister(buf: Uint8Array): RelayRegister | null {
  if (natKind(buf) !== NatKind.relayRegister || buf.length < 7 || buf[4] !== NAT_VERSION) return null;
  const tlen = dataView(buf).getUint16(5);
  if (tlen < 1 || tlen > NAT_LIMITS.relayTokenBytes) return null;
  const end = 7 + tlen + 8 + NONCE_BYTES;
  if (buf.length !== end + SIGNATURE_BYTES) return null;
  const ts = dataView(buf).getBigUint64(7 + tlen);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return {
    token: buf.slice(7, 7 + tlen),
    ts: Number(ts),
    nonce: buf.slice(7 + tlen + 8, end),
    signed: buf.slice(0, end),
    signature: buf.slice(end, end + SIGNATURE_BYTES),
  };
}

export function relayRegistered(nonce: Uint8Array, refreshSeconds: number): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  const out = new Uint8Array(NAT_HEADER_BYTES + 1 + NONCE_BYTES + 2);
  writeNatHeader(out, NatKind.relayRegistered);
  out[4] = NAT_VERSION;
  out.set(nonce.subarray(0, NONCE_BYTES), 5);
  dataView(out).setUint16(5 + NONCE_BYTES, Math.max(1, Math.min(65535, Math.floor(refreshSeconds))));
  return out;
}

export function parseRelayRegistered(buf: Uint8Array): { nonce: Uint8Array; refreshSeconds: number } | null {
  if (
    natKind(buf) !== NatKind.relayRegistered ||
    buf.length !== NAT_HEADER_BYTES + 1 + NONCE_BYTES + 2 ||
    buf[4] !== NAT_VERSION
  )
    return null;
  const refreshSeconds = dataView(buf).getUint16(5 + NONCE_BYTES);
  if (refreshSeconds === 0) return null;
  return { nonce: buf.slice(5, 5 + NONCE_BYTES), refreshSeconds };
}

export function relayRefused(nonce: Uint8Array, reason: string): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  const r = ascii.encode(reason.replace(/[^\x20-\x7e]/g, '?').slice(0, NAT_LIMITS.refusalReasonChars));
  const out = new Uint8Array(NAT_HEADER_BYTES + 1 + NONCE_BYTES + 1 + r.length);
  writeNatHeader(out, NatKind.relayRefused);
  out[4] = NAT_VERSION;
  out.set(nonce.subarray(0, NONCE_BYTES), 5);
  out[5 + NONCE_BYTES] = r.length;
  out.set(r, 6 + NONCE_BYTES);
  return out;
}

export function parseRelayRefused(buf: Uint8Array): { nonce: Uint8Array; reason: string } | null {
  if (natKind(buf) !== NatKind.relayRefused || buf.length < 6 + NONCE_BYTES || buf[4] !== NAT_VERSION) return null;
  const n = buf[5 + NONCE_BYTES]!;
  if (buf.length !== 6 + NONCE_BYTES + n) return null;
  let reason = '';
  for (const c of buf.subarray(6 + NONCE_BYTES)) reason += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '?';
  return { nonce: buf.slice(5, 5 + NONCE_BYTES), reason };
}

/** writeRelayHeader writes the 12-byte header of a relaySend/relayRecv frame at `at`. */
export function writeRelayHeader(
  out: Uint8Array,
  at: number,
  kind: typeof NatKind.relaySend | typeof NatKind.relayRecv,
  id: Uint8Array,
): void {
  out[at] = NAT_MAGIC[0];
  out[at + 1] = NAT_MAGIC[1];
  out[at + 2] = NAT_MAGIC[2];
  out[at + 3] = kind;
  // Byte by byte: a subarray and set per frame cost an allocation on the forwarding paths.
  for (let k = 0; k < PEER_ID_BYTES; k++) out[at + NAT_HEADER_BYTES + k] = id[k]!;
}

/** relayFrame returns header + payload as one new buffer. */
export function relayFrame(
  kind: typeof NatKind.relaySend | typeof NatKind.relayRecv,
  id: Uint8Array,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(RELAY_HEADER_BYTES + payload.length);
  writeRelayHeader(out, 0, kind, id);
  out.set(payload, RELAY_HEADER_BYTES);
  return out;
}

/** parseRelayFrame reads a send/recv frame at buf[off, off+len); the payload is a view. */
export function parseRelayFrame(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
): { kind: 'send' | 'recv'; id: Uint8Array; payloadOffset: number; payloadLength: number } | null {
  const kind = natKind(buf, off, len);
  if (kind !== NatKind.relaySend && kind !== NatKind.relayRecv) return null;
  if (relayPayloadLength(buf, off, len, kind) < 0) return null;
  return {
    kind: kind === NatKind.relaySend ? 'send' : 'recv',
    id: buf.subarray(off + NAT_HEADER_BYTES, off + RELAY_HEADER_BYTES),
    payloadOffset: off + RELAY_HEADER_BYTES,
    payloadLength: len - RELAY_HEADER_BYTES,
  };
}

/**
 * relayPayloadLength is parseRelayFrame's check for one kind without the object it builds, for
 * the paths that look at every relayed datagram (the relay's forwarding, a helper's receiving):
 * the payload length of the `kind` frame at buf[off, off+len), or -1 if it is not one. Its
 * peer id is at off + NAT_HEADER_BYTES, its payload at off + RELAY_HEADER_BYTES.
 */
export function relayPayloadLength(
  buf: Uint8Array,
  off: number,
  len: number,
  kind: typeof NatKind.relaySend | typeof NatKind.relayRecv,
): number {
  if (natKind(buf, off, len) !== kind) return -1;
  if (len <= RELAY_HEADER_BYTES || len - RELAY_HEADER_BYTES > NAT_LIMITS.relayPayloadBytes) return -1;
  return len - RELAY_HEADER_BYTES;
}

/** RELAY_REGION is what a relay's region may be (`warren-relay --region`, `--relay ...,region=`,
 * the map's RelayInfo.region): 1-32 letters, digits, "_", "." or "-". */
export const RELAY_REGION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** DEFAULT_RELAY_REGION is a relay's region when none is given (`warren-relay --region`,
 * `warren-coordinator serve --relay-region` for the embedded relay). */
export const DEFAULT_RELAY_REGION = 'default';
/** RELAY_REGION_MAX is the longest region (RELAY_REGION). */
export const RELAY_REGION_MAX = 32;
/** RELAY_PROBE_BYTES is the exact size of a probe. It is padded past the longest reply
 * (4 + 1 + 16 + 1 + RELAY_REGION_MAX = 54 bytes), so a relay never answers with more bytes than
 * it received and cannot be used to amplify traffic towards a forged source address. */
export const RELAY_PROBE_BYTES = 64;
const PROBE_REPLY_MIN = NAT_HEADER_BYTES + 1 + NONCE_BYTES + 1;

/** relayProbe makes a round-trip probe carrying nonce (the reply echoes it). */
export function relayProbe(nonce: Uint8Array): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  const out = new Uint8Array(RELAY_PROBE_BYTES);
  writeNatHeader(out, NatKind.relayProbe);
  out[4] = NAT_VERSION;
  out.set(nonce, 5);
  return out;
}

/** parseRelayProbe returns a probe's nonce (a view), or null unless buf is exactly one probe. */
export function parseRelayProbe(buf: Uint8Array): Uint8Array | null {
  if (buf.length !== RELAY_PROBE_BYTES || natKind(buf) !== NatKind.relayProbe || buf[4] !== NAT_VERSION) return null;
  return buf.subarray(5, 5 + NONCE_BYTES);
}

/** relayProbeReply answers a probe: its nonce and the relay's region ('' for none). */
export function relayProbeReply(nonce: Uint8Array, region: string): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new Error(`nonce must be ${NONCE_BYTES} bytes`);
  if (region !== '' && !RELAY_REGION.test(region)) throw new Error('not a relay region');
  const r = ascii.encode(region);
  const out = new Uint8Array(PROBE_REPLY_MIN + r.length);
  writeNatHeader(out, NatKind.relayProbeReply);
  out[4] = NAT_VERSION;
  out.set(nonce, 5);
  out[5 + NONCE_BYTES] = r.length;
  out.set(r, PROBE_REPLY_MIN);
  return out;
}

/** parseRelayProbeReply reads a probe reply; a region that is not RELAY_REGION reads as ''. */
export function parseRelayProbeReply(buf: Uint8Array): { nonce: Uint8Array; region: string } | null {
  if (natKind(buf) !== NatKind.relayProbeReply || buf.length < PROBE_REPLY_MIN || buf[4] !== NAT_VERSION) return null;
  const n = buf[5 + NONCE_BYTES]!;
  if (n > RELAY_REGION_MAX || buf.length !== PROBE_REPLY_MIN + n) return null;
  let region = '';
  for (const c of buf.subarray(PROBE_REPLY_MIN)) region += String.fromCharCode(c);
  return { nonce: buf.slice(5, 5 + NONCE_BYTES), region: RELAY_REGION.test(region) ? region : '' };
}
