// Message layouts of WireGuard, whitepaper §5.4.2 (initiation), §5.4.3 (response), §5.4.7
// (cookie reply) and §5.4.6 (transport data). Integers are little-endian. The first four bytes
// are read as one little-endian u32 (type byte plus three reserved zero bytes), as wireguard-go
// does, so a message with non-zero reserved bytes is an unknown type.
//
// Parsers take untrusted bytes and never throw: they return the parsed view or a DropReason.
// Parsed fields are views into the input (no copies); callers copy what they keep.
import { KEY_SIZE, MAC_SIZE, TAG_SIZE, TAI64N_SIZE } from './constants.js';
import type { DropReason } from './types.js';

/** MessageType holds the wire values of the four message types. */
export const MessageType = { Initiation: 1, Response: 2, CookieReply: 3, Transport: 4 } as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

/** INITIATION_SIZE: type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1 mac2. */
export const INITIATION_SIZE = 148;
/** RESPONSE_SIZE: type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1 mac2. */
export const RESPONSE_SIZE = 92;
/** COOKIE_REPLY_SIZE: type(4) receiver(4) nonce(24) cookie(16+16). */
export const COOKIE_REPLY_SIZE = 64;
/** TRANSPORT_HEADER_SIZE: type(4) receiver(4) counter(8). */
export const TRANSPORT_HEADER_SIZE = 16;
/** TRANSPORT_MIN_SIZE: a keepalive, the header plus an empty payload's tag. */
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + TAG_SIZE;
/** COOKIE_NONCE_SIZE: XChaCha20-Poly1305 nonce length. */
export const COOKIE_NONCE_SIZE = 24;

/** Offsets of the fields inside an initiation. */
export const INIT = { sender: 4, ephemeral: 8, static: 40, timestamp: 88, mac1: 116, mac2: 132 } as const;
/** Offsets of the fields inside a response. */
export const RESP = { sender: 4, receiver: 8, ephemeral: 12, empty: 44, mac1: 60, mac2: 76 } as const;
/** Offsets of the fields inside a cookie reply. */
export const COOKIE = { receiver: 4, nonce: 8, cookie: 32 } as const;

const ENCRYPTED_STATIC_SIZE = KEY_SIZE + TAG_SIZE;
const ENCRYPTED_TIMESTAMP_SIZE = TAI64N_SIZE + TAG_SIZE;

export interface Initiation {
  sender: number;
  ephemeral: Buffer;
  encryptedStatic: Buffer;
  encryptedTimestamp: Buffer;
}
export interface Response {
  sender: number;
  receiver: number;
  ephemeral: Buffer;
  encryptedNothing: Buffer;
}
export interface CookieReply {
  receiver: number;
  nonce: Buffer;
  encryptedCookie: Buffer;
}
export interface TransportHeader {
  receiver: number;
  counter: number;
  sealed: Buffer;
}

/** messageType returns the type of a datagram, or null when it is shorter than 4 bytes or the
 * type is not one of ours (reserved bytes included). */
export function messageType(msg: Buffer): MessageTypeValue | null {
  if (msg.length < 4) return null;
  const t = msg.readUInt32LE(0);
  return t >= 1 && t <= 4 ? (t as MessageTypeValue) : null;
}

function checkType(msg: Buffer, type: MessageTypeValue, size: number): DropReason | null {
  if (msg.length < 4) return 'bad-length';
  if (msg.readUInt32LE(0) !== type) return 'bad-type';
  return msg.length === size ? null : 'bad-length';
}

/** parseInitiation reads a type-1 message. */
export function parseInitiation(msg: Buffer): Initiation | DropReason {
  const bad = checkType(msg, MessageType.Initiation, INITIATION_SIZE);
  if (bad) return bad;
  return {
    sender: msg.readUInt32LE(INIT.sender),
    ephemeral: msg.subarray(INIT.ephemeral, INIT.ephemeral + KEY_SIZE),
    encryptedStatic: msg.subarray(INIT.static, INIT.static + ENCRYPTED_STATIC_SIZE),
    encryptedTimestamp: msg.subarray(INIT.timestamp, INIT.timestamp + ENCRYPTED_TIMESTAMP_SIZE),
  };
}

/** parseResponse reads a type-2 message. */
export function parseResponse(msg: Buffer): Response | DropReason {
  const bad = checkType(msg, MessageType.Response, RESPONSE_SIZE);
  if (bad) return bad;
  return {
    sender: msg.readUInt32LE(RESP.sender),
    receiver: msg.readUInt32LE(RESP.receiver),
    ephemeral: msg.subarray(RESP.ephemeral, RESP.ephemeral + KEY_SIZE),
    encryptedNothing: msg.subarray(RESP.empty, RESP.empty + TAG_SIZE),
  };
}

/** parseCookieReply reads a type-3 message. */
export function parseCookieReply(msg: Buffer): CookieReply | DropReason {
  const bad = checkType(msg, MessageType.CookieReply, COOKIE_REPLY_SIZE);
  if (bad) return bad;
  return {
    receiver: msg.readUInt32LE(COOKIE.receiver),
    nonce: msg.subarray(COOKIE.nonce, COOKIE.nonce + COOKIE_NONCE_SIZE),
    encryptedCookie: msg.subarray(COOKIE.cookie, COOKIE.cookie + MAC_SIZE + TAG_SIZE),
  };
}

// Counters above 2^53 - 1 cannot be held exactly in a number; the high word's top 11 bits
// must be zero. Such counters are refused as 'counter-limit' (see REJECT_AFTER_MESSAGES).
const MAX_SAFE_HIGH_WORD = 0x1fffff;

/** parseTransportHeader reads the header of a type-4 message; the sealed part is ciphertext || tag. */
export function parseTransportHeader(msg: Buffer): TransportHeader | DropReason {
  if (msg.length < 4) return 'bad-length';
  if (msg.readUInt32LE(0) !== MessageType.Transport) return 'bad-type';
  if (msg.length < TRANSPORT_MIN_SIZE) return 'bad-length';
  const lo = msg.readUInt32LE(8);
  const hi = msg.readUInt32LE(12);
  if (hi > MAX_SAFE_HIGH_WORD) return 'counter-limit';
  return {
    receiver: msg.readUInt32LE(4),
    counter: hi * 0x1_0000_0000 + lo,
    sealed: msg.subarray(TRANSPORT_HEADER_SIZE),
  };
}

/** writeInitiation lays out a type-1 message with zero mac1/mac2 (added later by the cookie code). */
export function writeInitiation(
  sender: number,
  ephemeral: Buffer,
  encryptedStatic: Buffer,
  encryptedTimestamp: Buffer,
): Buffer {
  const out = Buffer.alloc(INITIATION_SIZE);
  out.writeUInt32LE(MessageType.Initiation, 0);
  out.writeUInt32LE(sender, INIT.sender);
  ephemeral.copy(out, INIT.ephemeral);
  encryptedStatic.copy(out, INIT.static);
  encryptedTimestamp.copy(out, INIT.timestamp);
  return out;
}

/** writeResponse lays out a type-2 message with zero mac1/mac2. */
export function writeResponse(sender: number, receiver: number, ephemeral: Buffer, encryptedNothing: Buffer): Buffer {
  const out = Buffer.alloc(RESPONSE_SIZE);
  out.writeUInt32LE(MessageType.Response, 0);
  out.writeUInt32LE(sender, RESP.sender);
  out.writeUInt32LE(receiver, RESP.receiver);
  ephemeral.copy(out, RESP.ephemeral);
  encryptedNothing.copy(out, RESP.empty);
  return out;
}

/** writeCookieReply lays out a type-3 message. */
export function writeCookieReply(receiver: number, nonce: Buffer, encryptedCookie: Buffer): Buffer {
  const out = Buffer.alloc(COOKIE_REPLY_SIZE);
  out.writeUInt32LE(MessageType.CookieReply, 0);
  out.writeUInt32LE(receiver, COOKIE.receiver);
  nonce.copy(out, COOKIE.nonce);
  encryptedCookie.copy(out, COOKIE.cookie);
  return out;
}

/** writeTransportHeader fills the 16-byte header of a type-4 message in place. */
export function writeTransportHeader(out: Buffer, receiver: number, counter: number): void {
  out.writeUInt32LE(MessageType.Transport, 0);
  out.writeUInt32LE(receiver, 4);
  out.writeUInt32LE(counter >>> 0, 8);
  out.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 12);
}
