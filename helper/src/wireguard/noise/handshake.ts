// The Noise_IKpsk2 handshake of WireGuard: whitepaper §5.4.2 (initiator to responder),
// §5.4.3 (responder to initiator) and §5.4.5 (transport key derivation). These functions do
// the cryptography and keep the per-peer handshake state; indices, macs and timers belong to
// the peer and the core. A consume step commits to the state only after every check passed,
// so a bad message never disturbs a handshake in progress.
//
// Secrets are zeroed as soon as they are used, whatever the outcome: every intermediate
// chaining key, temporary key and DH result, and the chaining key and hash a step replaces.
// §5.4.5 ends by erasing the chaining key and the ephemeral keys once the session keys exist;
// wireguard-go's setZero does the same for the intermediates. The transcript hashes that stay
// local hold only public values or one-way images of secrets, so they are left to the GC. The
// ephemeral private key is an OpenSSL key object, which JS cannot overwrite: it is dropped
// once used, and OpenSSL clears the key when it frees the object.
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

/** wipe zeroes secrets in place; null entries are failed DH results. */
function wipe(...secrets: Array<Buffer | null>): void {
  for (const s of secrets) s?.fill(0);
}

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
    /** staticStatic is DH(our static, their static), precomputed; null if their key is low-order
     * or we have no private key yet. */
    public staticStatic: Buffer | null,
  ) {}

  /** rekeyStatic replaces the precomputed DH after our private key changed, wiping the old one. */
  rekeyStatic(ss: Buffer | null): void {
    this.staticStatic?.fill(0);
    this.staticStatic = ss;
  }

  /** advance moves the state to a new chaining key and hash, zeroing the ones they replace
   * (the previous step's, or a handshake of ours that the peer's initiation overrides). */
  advance(chainKey: Buffer, hash: Buffer): void {
    this.chainKey.fill(0);
    this.hash.fill(0);
    this.chainKey = chainKey;
    this.hash = hash;
  }

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
  const ck0 = kdf1(INITIAL_CHAIN_KEY, ePub);
  const [ck1, k1] = kdf2(ck0, es);
  const encryptedStatic = aeadSeal(k1, 0, id.publicKey, h);
  h = hash(h, encryptedStatic);
  const [ck2, k2] = kdf2(ck1, hs.staticStatic);
  const encryptedTimestamp = aeadSeal(k2, 0, timestamp, h);
  h = hash(h, encryptedTimestamp);
  wipe(es, ck0, ck1, k1, k2);
  hs.advance(ck2, h);
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
  const h = hash(hash(INITIAL_HASH, id.publicKey), msg.ephemeral);
  const ck0 = kdf1(INITIAL_CHAIN_KEY, msg.ephemeral);
  const [ck, k] = kdf2(ck0, ss);
  const remoteStatic = aeadOpen(k, 0, msg.encryptedStatic, h);
  wipe(ss, ck0, k);
  if (!remoteStatic) {
    wipe(ck);
    return 'decrypt-failed';
  }
  return { remoteStatic, hash: hash(h, msg.encryptedStatic), chainKey: ck, msg };
}

/** discardStage zeroes a stage's chaining key and hash; finishInitiation does it itself, the
 * core calls it for a stage it does not pass on (an unknown sender). */
export function discardStage(stage: InitiationStage): void {
  wipe(stage.chainKey, stage.hash);
}

/** finishInitiation authenticates the sender and its timestamp, applies the replay and flood
 * rules, and on success moves `hs` to 'initiation-consumed'. */
export function finishInitiation(hs: Handshake, stage: InitiationStage, now: number): DropReason | null {
  if (!hs.staticStatic) {
    discardStage(stage);
    return 'bad-key';
  }
  const [ck, k] = kdf2(stage.chainKey, hs.staticStatic);
  const timestamp = aeadOpen(k, 0, stage.msg.encryptedTimestamp, stage.hash);
  wipe(k);
  const refuse = (drop: DropReason): DropReason => {
    wipe(ck);
    discardStage(stage);
    return drop;
  };
  if (!timestamp) return refuse('decrypt-failed');
  if (Buffer.compare(timestamp, hs.lastTimestamp) <= 0) return refuse('replayed-timestamp');
  if (hs.lastInitiationConsumedAt !== null && now - hs.lastInitiationConsumedAt <= HANDSHAKE_INITIATION_RATE) {
    return refuse('initiation-flood');
  }
  hs.advance(ck, hash(stage.hash, stage.msg.encryptedTimestamp));
  discardStage(stage);
  hs.remoteIndex = stage.msg.sender;
  stage.msg.ephemeral.copy(hs.remoteEphemeral);
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
  if (!ee || !se) {
    wipe(ee, se);
    return null;
  }
  let h = hash(hs.hash, ePub);
  const c1 = kdf1(hs.chainKey, ePub);
  const c2 = kdf1(c1, ee);
  const c3 = kdf1(c2, se);
  const [ck, tau, k] = kdf3(c3, hs.presharedKey);
  h = hash(h, tau);
  const encryptedNothing = aeadSeal(k, 0, EMPTY_BYTES, h);
  h = hash(h, encryptedNothing);
  wipe(ee, se, c1, c2, c3, tau, k);
  hs.advance(ck, h);
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
  if (!ee || !se) {
    wipe(ee, se);
    return 'bad-key';
  }
  let h = hash(hs.hash, msg.ephemeral);
  const c1 = kdf1(hs.chainKey, msg.ephemeral);
  const c2 = kdf1(c1, ee);
  const c3 = kdf1(c2, se);
  const [ck, tau, k] = kdf3(c3, hs.presharedKey);
  h = hash(h, tau);
  const ok = aeadOpen(k, 0, msg.encryptedNothing, h);
  wipe(ee, se, c1, c2, c3, tau, k);
  if (!ok) {
    wipe(ck);
    return 'decrypt-failed';
  }
  hs.advance(ck, hash(h, msg.encryptedNothing));
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
