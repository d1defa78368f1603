// The Noise_IKpsk2 handshake of WireGuard: whitepaper §5.4.2 (initiator to responder),
// §5.4.3 (responder to initiator) and §5.4.5 (transport key derivation). These functions do
// the cryptography and keep the per-peer handshake state; indices, macs and timers belong to
// the peer and the core. A consume step commits to the state only after every check passed,
// so a bad message never disturbs a handshake in progress.
import type { KeyObject } from 'node:crypto';
import { CONSTRUCTION, HANDSHAKE_INITIATION_RATE, IDENTIFIER, KEY_SIZE, TAI64N_SIZE } from './constants.js';
import {
  aeadOpen,
  aeadSeal,
  dh,
  EMPTY_BYTES,
  hash,
  kdf1,
  kdf2,
  kdf3,
  privateKeyObject,
  rawPublicKey,
} from './crypto.js';
import { writeInitiation, writeResponse, type Initiation, type Response } from './messages.js';
import type { DropReason } from './types.js';

/** Identity is our static key pair. */
export interface Identity {
  privateKey: KeyObject;
  publicKey: Buffer;
}

/** HandshakeState follows wireguard-go's handshake states. */
export type HandshakeState =
  'zeroed' | 'initiation-created' | 'initiation-consumed' | 'response-created' | 'response-consumed';

const INITIAL_CHAIN_KEY = hash(Buffer.from(CONSTRUCTION, 'latin1'));
const INITIAL_HASH = hash(INITIAL_CHAIN_KEY, Buffer.from(IDENTIFIER, 'latin1'));

/** Handshake is the handshake state kept for one peer. */
export class Handshake {
  state: HandshakeState = 'zeroed';
  hash: Buffer = Buffer.alloc(KEY_SIZE);
  chainKey: Buffer = Buffer.alloc(KEY_SIZE);
  localEphemeral: KeyObject | null = null;
  remoteEphemeral: Buffer = Buffer.alloc(KEY_SIZE);
  localIndex = 0;
  remoteIndex = 0;
  /** lastTimestamp is the newest TAI64N accepted from this peer; it survives clear() so an old
   * initiation can never be replayed, even after the session keys were erased. */
  lastTimestamp: Buffer = Buffer.alloc(TAI64N_SIZE);
  lastInitiationConsumedAt: number | null = null;
  /** lastSentTimestamp keeps our own timestamps strictly increasing even if the clock steps back. */
  lastSentTimestamp: Buffer = Buffer.alloc(TAI64N_SIZE);

  constructor(
    readonly remoteStatic: Buffer,
    public presharedKey: Buffer,
    /** staticStatic is DH(our static, their static), precomputed; null if their key is low-order. */
    readonly staticStatic: Buffer | null,
  ) {}

  /** clear erases the ephemeral state (not the replay-protection timestamps). */
  clear(): void {
    this.hash.fill(0);
    this.chainKey.fill(0);
    this.remoteEphemeral.fill(0);
    this.localEphemeral = null;
    this.localIndex = 0;
    this.remoteIndex = 0;
    this.state = 'zeroed';
  }

  /** destroy erases everything, for peer removal. */
  destroy(): void {
    this.clear();
    this.presharedKey.fill(0);
    this.staticStatic?.fill(0);
  }
}

/** nextTimestamp returns `stamp`, or when that is not after `last`, the smallest whitened
 * TAI64N after `last`: the responder rejects any initiation not newer than its predecessor. */
export function nextTimestamp(stamp: Buffer, last: Buffer): Buffer {
  if (Buffer.compare(stamp, last) > 0) return stamp;
  const out = Buffer.from(last);
  let nanos = out.readUInt32BE(8) + 0x1000000;
  let secs = out.readBigUInt64BE(0);
  if (nanos >= 1_000_000_000) {
    nanos = 0;
    secs += 1n;
  }
  out.writeBigUInt64BE(secs, 0);
  out.writeUInt32BE(nanos, 8);
  return out;
}

/** createInitiation builds message 1 (§5.4.2) with zero macs and moves to 'initiation-created';
 * null if their key is unusable. */
export function createInitiation(
  id: Identity,
  hs: Handshake,
  ephemeral: KeyObject,
  timestamp: Buffer,
  sender: number,
): Buffer | null {
  if (!hs.staticStatic) return null;
  const ePub = rawPublicKey(ephemeral);
  const es = dh(ephemeral, hs.remoteStatic);
  if (!es) return null;
  let h = hash(hash(INITIAL_HASH, hs.remoteStatic), ePub);
  let ck = kdf1(INITIAL_CHAIN_KEY, ePub);
  let k: Buffer;
  [ck, k] = kdf2(ck, es);
  const encryptedStatic = aeadSeal(k, 0, id.publicKey, h);
  h = hash(h, encryptedStatic);
  [ck, k] = kdf2(ck, hs.staticStatic);
  const encryptedTimestamp = aeadSeal(k, 0, timestamp, h);
  h = hash(h, encryptedTimestamp);
  es.fill(0);
  k.fill(0);
  hs.hash = h;
  hs.chainKey = ck;
  hs.localEphemeral = ephemeral;
  hs.localIndex = sender;
  hs.state = 'initiation-created';
  return writeInitiation(sender, ePub, encryptedStatic, encryptedTimestamp);
}

/** InitiationStage is an initiation whose static key has been decrypted but not yet checked. */
export interface InitiationStage {
  remoteStatic: Buffer;
  hash: Buffer;
  chainKey: Buffer;
  msg: Initiation;
}

/** openInitiationStatic does the first half of consuming message 1: it learns who sent it. */
export function openInitiationStatic(id: Identity, msg: Initiation): InitiationStage | DropReason {
  const ss = dh(id.privateKey, msg.ephemeral);
  if (!ss) return 'bad-key';
  let h = hash(hash(INITIAL_HASH, id.publicKey), msg.ephemeral);
  const [ck, k] = kdf2(kdf1(INITIAL_CHAIN_KEY, msg.ephemeral), ss);
  ss.fill(0);
  const remoteStatic = aeadOpen(k, 0, msg.encryptedStatic, h);
  k.fill(0);
  if (!remoteStatic) return 'decrypt-failed';
  h = hash(h, msg.encryptedStatic);
  return { remoteStatic, hash: h, chainKey: ck, msg };
}

/** finishInitiation authenticates the sender and its timestamp, applies the replay and flood
 * rules, and on success moves `hs` to 'initiation-consumed'. */
export function finishInitiation(hs: Handshake, stage: InitiationStage, now: number): DropReason | null {
  if (!hs.staticStatic) return 'bad-key';
  const [ck, k] = kdf2(stage.chainKey, hs.staticStatic);
  const timestamp = aeadOpen(k, 0, stage.msg.encryptedTimestamp, stage.hash);
  k.fill(0);
  if (!timestamp) return 'decrypt-failed';
  if (Buffer.compare(timestamp, hs.lastTimestamp) <= 0) return 'replayed-timestamp';
  if (hs.lastInitiationConsumedAt !== null && now - hs.lastInitiationConsumedAt <= HANDSHAKE_INITIATION_RATE) {
    return 'initiation-flood';
  }
  hs.hash = hash(stage.hash, stage.msg.encryptedTimestamp);
  hs.chainKey = ck;
  hs.remoteIndex = stage.msg.sender;
  hs.remoteEphemeral = Buffer.from(stage.msg.ephemeral);
  hs.lastTimestamp = timestamp;
  hs.lastInitiationConsumedAt = now;
  hs.localEphemeral = null;
  hs.state = 'initiation-consumed';
  return null;
}

/** createResponse builds message 2 (§5.4.3) with zero macs and moves to 'response-created'. */
export function createResponse(hs: Handshake, ephemeral: KeyObject, sender: number): Buffer | null {
  if (hs.state !== 'initiation-consumed') return null;
  const ePub = rawPublicKey(ephemeral);
  const ee = dh(ephemeral, hs.remoteEphemeral);
  const se = dh(ephemeral, hs.remoteStatic);
  if (!ee || !se) return null;
  let h = hash(hs.hash, ePub);
  let ck = kdf1(hs.chainKey, ePub);
  ck = kdf1(ck, ee);
  ck = kdf1(ck, se);
  const [ck2, tau, k] = kdf3(ck, hs.presharedKey);
  h = hash(h, tau);
  const encryptedNothing = aeadSeal(k, 0, EMPTY_BYTES, h);
  h = hash(h, encryptedNothing);
  for (const b of [ee, se, ck, tau, k]) b.fill(0);
  hs.hash = h;
  hs.chainKey = ck2;
  hs.localEphemeral = ephemeral;
  hs.localIndex = sender;
  hs.state = 'response-created';
  return writeResponse(sender, hs.remoteIndex, ePub, encryptedNothing);
}

/** consumeResponse checks message 2 against our outstanding initiation and on success moves
 * `hs` to 'response-consumed'. */
export function consumeResponse(id: Identity, hs: Handshake, msg: Response): DropReason | null {
  if (hs.state !== 'initiation-created' || !hs.localEphemeral) return 'no-handshake';
  const ee = dh(hs.localEphemeral, msg.ephemeral);
  const se = dh(id.privateKey, msg.ephemeral);
  if (!ee || !se) return 'bad-key';
  let h = hash(hs.hash, msg.ephemeral);
  let ck = kdf1(hs.chainKey, msg.ephemeral);
  ck = kdf1(ck, ee);
  ck = kdf1(ck, se);
  const [ck2, tau, k] = kdf3(ck, hs.presharedKey);
  h = hash(h, tau);
  const ok = aeadOpen(k, 0, msg.encryptedNothing, h);
  for (const b of [ee, se, ck, tau, k]) b.fill(0);
  if (!ok) return 'decrypt-failed';
  hs.hash = hash(h, msg.encryptedNothing);
  hs.chainKey = ck2;
  hs.remoteIndex = msg.sender;
  hs.state = 'response-consumed';
  return null;
}

/** SessionKeys are the outputs of §5.4.5. */
export interface SessionKeys {
  sendKey: Buffer;
  recvKey: Buffer;
  isInitiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

/** deriveSession computes the transport keys from a finished handshake and erases the
 * handshake state; null if the handshake is not finished. */
export function deriveSession(hs: Handshake): SessionKeys | null {
  let isInitiator: boolean;
  if (hs.state === 'response-consumed') isInitiator = true;
  else if (hs.state === 'response-created') isInitiator = false;
  else return null;
  const [t1, t2] = kdf2(hs.chainKey, EMPTY_BYTES);
  const keys: SessionKeys = {
    sendKey: isInitiator ? t1 : t2,
    recvKey: isInitiator ? t2 : t1,
    isInitiator,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
  };
  hs.clear();
  return keys;
}

/** newEphemeral makes a fresh X25519 private key from random bytes. */
export function newEphemeral(random: (n: number) => Buffer): KeyObject {
  const raw = random(KEY_SIZE);
  const key = privateKeyObject(raw);
  raw.fill(0);
  return key;
}
