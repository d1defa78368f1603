// mac1, mac2 and cookies: WireGuard whitepaper §5.4.4 and §5.4.7 ("Cookie MACs" and "Under
// Load: Cookie Reply Message").
//
// CookieChecker is the receiving side for our own static key: it checks mac1 on every
// handshake message, and under load checks mac2 and makes cookie replies. CookieGenerator is
// kept per peer: it adds mac1/mac2 to what we send that peer and consumes its cookie replies.
import { COOKIE_REFRESH_TIME, LABEL_COOKIE, LABEL_MAC1, MAC_SIZE } from './constants.js';
import { hash, mac, xaeadOpen, xaeadSeal } from './crypto.js';
import { COOKIE_NONCE_SIZE, writeCookieReply, type CookieReply } from './messages.js';
import type { Endpoint } from './types.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { ipv6ToBytes } from '../../../../src-shared/lib/ip/ipv6.js';
import { timingSafeEqual } from 'node:crypto';

const MAC1_LABEL = Buffer.from(LABEL_MAC1, 'latin1');
const COOKIE_LABEL = Buffer.from(LABEL_COOKIE, 'latin1');

/** mac1Key is HASH(LABEL_MAC1 || receiver public key). */
export function mac1Key(publicKey: Buffer): Buffer {
  return hash(MAC1_LABEL, publicKey);
}

/** cookieKey is HASH(LABEL_COOKIE || responder public key), the cookie reply encryption key. */
export function cookieKey(publicKey: Buffer): Buffer {
  return hash(COOKIE_LABEL, publicKey);
}

/** endpointBytes is the source A_m the cookie is bound to (§5.4.7: the external IP address and
 * UDP port): IPv4 as its 4 bytes, IPv6 as its 16, as the kernel and wireguard-go encode them,
 * then the port in network order. Only we compute and check these, so what matters is that the
 * encoding is injective: an address the device could not parse (never the case for a socket's
 * source) falls back to its text, which has yet other lengths. */
export function endpointBytes(from: Endpoint): Buffer {
  const a = parseIp(from.ip);
  const addr =
    a === null
      ? Buffer.from(from.ip, 'utf8')
      : a.family === 4
        ? Buffer.from([a.v4 >>> 24, (a.v4 >>> 16) & 0xff, (a.v4 >>> 8) & 0xff, a.v4 & 0xff])
        : Buffer.from(ipv6ToBytes(a));
  const port = Buffer.alloc(2);
  port.writeUInt16BE(from.port & 0xffff);
  return Buffer.concat([addr, port]);
}

function macOffsets(msg: Buffer): { mac1: number; mac2: number } {
  const mac2 = msg.length - MAC_SIZE;
  return { mac1: mac2 - MAC_SIZE, mac2 };
}

function isZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function equal16(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** CookieChecker validates macs of handshake messages addressed to us. */
export class CookieChecker {
  private readonly mac1Key: Buffer;
  private readonly encryptionKey: Buffer;
  private secret: Buffer | null = null;
  private secretSetAt = 0;

  constructor(
    ourPublicKey: Buffer,
    private readonly random: (n: number) => Buffer,
  ) {
    this.mac1Key = mac1Key(ourPublicKey);
    this.encryptionKey = cookieKey(ourPublicKey);
  }

  /** checkMac1 verifies msg.mac1 = MAC(HASH(LABEL_MAC1 || our key), msg up to mac1). */
  checkMac1(msg: Buffer): boolean {
    const o = macOffsets(msg);
    return equal16(mac(this.mac1Key, msg.subarray(0, o.mac1)), msg.subarray(o.mac1, o.mac2));
  }

  /** checkMac2 verifies mac2 against the cookie this source would have been given; a secret
   * older than COOKIE_REFRESH_TIME makes every mac2 invalid, so old cookies die with it. */
  checkMac2(msg: Buffer, from: Endpoint, now: number): boolean {
    if (!this.secret || now - this.secretSetAt > COOKIE_REFRESH_TIME) return false;
    const o = macOffsets(msg);
    // A sender without a cookie leaves mac2 zero (§5.4.4): that needs no MAC to refuse.
    if (isZero(msg, o.mac2, msg.length)) return false;
    const cookie = mac(this.secret, endpointBytes(from));
    return equal16(mac(cookie, msg.subarray(0, o.mac2)), msg.subarray(o.mac2));
  }

  /** createReply answers `msg` (whose sender index is `receiver`) with a cookie reply: the
   * cookie MAC(secret, source) encrypted under our cookie key, authenticated with msg.mac1. */
  createReply(msg: Buffer, receiver: number, from: Endpoint, now: number): Buffer {
    if (!this.secret || now - this.secretSetAt > COOKIE_REFRESH_TIME) {
      this.secret?.fill(0);
      this.secret = this.random(32);
      this.secretSetAt = now;
    }
    const cookie = mac(this.secret, endpointBytes(from));
    const o = macOffsets(msg);
    const nonce = this.random(COOKIE_NONCE_SIZE);
    const sealed = xaeadSeal(this.encryptionKey, nonce, cookie, msg.subarray(o.mac1, o.mac2));
    return writeCookieReply(receiver, nonce, sealed);
  }
}

/** CookieGenerator adds macs to messages we send one peer and remembers its cookie. */
export class CookieGenerator {
  private readonly mac1Key: Buffer;
  private readonly encryptionKey: Buffer;
  private lastMac1: Buffer | null = null;
  private cookie: Buffer | null = null;
  private cookieSetAt = 0;

  constructor(peerPublicKey: Buffer) {
    this.mac1Key = mac1Key(peerPublicKey);
    this.encryptionKey = cookieKey(peerPublicKey);
  }

  /** addMacs fills mac1, and mac2 when we hold a cookie younger than COOKIE_REFRESH_TIME
   * (otherwise mac2 stays zero, as the whitepaper says). */
  addMacs(msg: Buffer, now: number): void {
    const o = macOffsets(msg);
    const m1 = mac(this.mac1Key, msg.subarray(0, o.mac1));
    m1.copy(msg, o.mac1);
    this.lastMac1 = m1;
    if (this.cookie && now - this.cookieSetAt <= COOKIE_REFRESH_TIME) {
      mac(this.cookie, msg.subarray(0, o.mac2)).copy(msg, o.mac2);
    } else {
      msg.fill(0, o.mac2);
    }
  }

  /** hasCookie says a cookie is stored and still fresh. */
  hasCookie(now: number): boolean {
    return this.cookie !== null && now - this.cookieSetAt <= COOKIE_REFRESH_TIME;
  }

  /** consumeReply decrypts a cookie reply against the mac1 we last sent; false if it does
   * not authenticate (forged, or a reply to something we did not send). */
  consumeReply(reply: CookieReply, now: number): boolean {
    if (!this.lastMac1) return false;
    const cookie = xaeadOpen(this.encryptionKey, reply.nonce, reply.encryptedCookie, this.lastMac1);
    if (!cookie) return false;
    this.cookie?.fill(0);
    this.cookie = cookie;
    this.cookieSetAt = now;
    return true;
  }

  /** clear forgets the cookie (peer removal). */
  clear(): void {
    this.cookie?.fill(0);
    this.cookie = null;
    this.lastMac1 = null;
  }
}
