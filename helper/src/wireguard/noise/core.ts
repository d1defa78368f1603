// NoiseCore: the sans-IO WireGuard protocol engine for one local static key. It owns the
// peers and the index table, handles handshake and cookie messages (whitepaper §5.4.2-5.4.4,
// §5.4.7) and runs the timers of §6. It never touches sockets or real time: the device passes
// in datagrams and `now` (ms) and performs the actions returned.
import { randomBytes } from 'node:crypto';
import { KEY_SIZE } from './constants.js';
import { CookieChecker } from './cookie.js';
import { EarlyInitiators } from './early-initiators.js';
import { dh, privateKeyObject, rawPublicKey } from './crypto.js';
import { consumeResponse, discardStage, finishInitiation, openInitiationStatic, type Identity } from './handshake.js';
import type { Keypair } from './keypair.js';
import { MessageType, parseCookieReply, parseInitiation, parseResponse } from './messages.js';
import { assertKey, NoisePeer, type PeerContext, type TickAction } from './peer.js';
import { ReplayMemory } from './replay-memory.js';
import type { DropReason, Endpoint } from './types.js';

export interface NoiseCoreOptions {
  /** privateKey is our static X25519 private key (32 bytes), or null for a device that has none
   * yet (a fresh `warren-wg` before `wg set`): it then drops every handshake message and
   * initiates nothing until setPrivateKey. */
  privateKey: Buffer | null;
  /** random returns n fresh random bytes (default crypto.randomBytes). */
  random?: (n: number) => Buffer;
  /** wallClockNs returns real time in ns since the epoch, for TAI64N and lastHandshakeAt. */
  wallClockNs?: () => bigint;
  /** isUnderLoad says the device wants cookies demanded before handshakes are processed. */
  isUnderLoad?: () => boolean;
  /** admit, when set, replaces isUnderLoad: it decides, after mac1 passed and before any
   * Diffie-Hellman, what becomes of a handshake message from `from`. */
  admit?: Admit;
}

/**
 * Admit decides the fate of a handshake message whose mac1 is valid (whitepaper §5.3): process
 * it, answer with a cookie reply instead (§5.4.7), or drop it for the given reason. `proven`
 * says its mac2 holds a valid cookie for its source address and port, so the address is not
 * spoofed. It runs before any Diffie-Hellman, so a device can rate-limit there.
 */
export type Admit = (from: Endpoint, proven: boolean, now: number) => 'process' | 'cookie' | DropReason;

/** ControlResult says what a handshake or cookie message did. */
export interface ControlResult {
  /** peer is the peer whose handshake message was accepted: an initiation we answered or a
   * response that completed our handshake, both authenticated by its static key (§5.4.2,
   * §5.4.3). It is null for a cookie reply even when the cookie was taken: its key derives
   * from a public key and its AAD is the mac1 anyone on the path sees (§5.4.7), so it proves
   * nothing about who sent it and must not move the endpoint (§2.1 roams on authenticated
   * packets only). */
  peer: NoisePeer | null;
  /** reply is a message to send back to the datagram's source (response or cookie reply). */
  reply: Buffer | null;
  /** sessionReady: we were the initiator and now have a session to send with. The device sends
   * the packets it queued for the peer, or a keepalive if there are none: the responder only
   * starts using the session once it receives something on it (§5.4.6). */
  sessionReady: boolean;
  drop: DropReason | null;
}

/** IndexEntry is what an index names; entries are replaced, never changed, so one can be
 * handed out as it is (keypairForIndex). */
interface IndexEntry {
  readonly peer: NoisePeer;
  readonly keypair: Keypair | null;
}

function dropped(drop: DropReason): ControlResult {
  return { peer: null, reply: null, sessionReady: false, drop };
}

// defaultWallClock is the system's real time. TAI64N (§5.4.2) and the last-handshake time people
// see are wall-clock by definition; carried forward on a monotonic clock they would fall behind
// by every suspend. A step back is harmless: nextTimestamp keeps our timestamps increasing.
function defaultWallClock(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** NoiseCore is the protocol engine; see the file comment. */
export class NoiseCore {
  private readonly identity: Identity;
  private hasKey: boolean;
  private readonly random: (n: number) => Buffer;
  private readonly wallClockNs: () => bigint;
  private readonly admit: Admit;
  private checker: CookieChecker;
  private readonly peers = new Map<string, NoisePeer>();
  private readonly indices = new Map<number, IndexEntry>();
  private readonly early = new EarlyInitiators();
  private readonly removedStamps = new ReplayMemory();
  private readonly ctx: PeerContext;

  constructor(opts: NoiseCoreOptions) {
    if (opts.privateKey !== null) assertKey(opts.privateKey, 'private key');
    // Without a key the identity is a placeholder that no path uses: every handshake message
    // is dropped before it is read and no peer has a static-static DH to initiate with.
    const privateKey = privateKeyObject(opts.privateKey ?? Buffer.alloc(KEY_SIZE));
    this.hasKey = opts.privateKey !== null;
    this.identity = { privateKey, publicKey: this.hasKey ? rawPublicKey(privateKey) : Buffer.alloc(KEY_SIZE) };
    this.random = opts.random ?? randomBytes;
    this.wallClockNs = opts.wallClockNs ?? defaultWallClock;
    const isUnderLoad = opts.isUnderLoad ?? (() => false);
    this.admit = opts.admit ?? ((_from, proven) => (isUnderLoad() && !proven ? 'cookie' : 'process'));
    this.checker = new CookieChecker(this.identity.publicKey, this.random);
    const indices = this.indices;
    const random = this.random;
    this.ctx = {
      identity: this.identity,
      staticStatic: (remote) => (this.hasKey ? dh(this.identity.privateKey, remote) : null),
      random,
      wallClockNs: this.wallClockNs,
      allocateIndex(peer: NoisePeer): number {
        // At most four indices per peer exist (one handshake, three sessions), so a random
        // 32-bit value collides rarely and this loop ends almost at once.
        for (;;) {
          const index = random(4).readUInt32LE(0);
          if (index !== 0 && !indices.has(index)) {
            indices.set(index, { peer, keypair: null });
            return index;
          }
        }
      },
      bindIndex(index: number, peer: NoisePeer, keypair: Keypair): void {
        indices.set(index, { peer, keypair });
      },
      freeIndex(index: number): void {
        indices.delete(index);
      },
    };
  }

  /** publicKey is our static public key (32 zero bytes while we have no private key). */
  get publicKey(): Buffer {
    return this.identity.publicKey;
  }

  /** hasPrivateKey says whether the core has a static key to take part in handshakes with. */
  get hasPrivateKey(): boolean {
    return this.hasKey;
  }

  /**
   * setPrivateKey replaces our static key at runtime, as wireguard-go's SetPrivateKey does: the
   * mac1 and cookie keys follow the new public key (whitepaper §5.4.4), every peer's
   * static-static DH is recomputed, and every session and handshake made with the old key is
   * erased (zeroAll), since the peer would no longer accept them. Replay protection stays. The
   * caller removes a peer whose public key is the new one first (addPeer refuses such a peer).
   * null takes the key away: the core then drops every handshake message and initiates nothing.
   */
  setPrivateKey(privateKey: Buffer | null): void {
    if (privateKey !== null) assertKey(privateKey, 'private key');
    const key = privateKeyObject(privateKey ?? Buffer.alloc(KEY_SIZE));
    this.hasKey = privateKey !== null;
    this.identity.privateKey = key;
    this.identity.publicKey = this.hasKey ? rawPublicKey(key) : Buffer.alloc(KEY_SIZE);
    this.checker = new CookieChecker(this.identity.publicKey, this.random);
    for (const peer of this.peers.values()) {
      peer.zeroAll();
      peer.handshake.rekeyStatic(this.ctx.staticStatic(peer.publicKey));
    }
  }

  /** addPeer adds a peer, or for a key already known updates its preshared key (see
   * NoisePeer.setPresharedKey) and keepalive and returns the existing peer. A peer added again
   * refuses the initiations it refused before its removal (replay-memory.ts). A low-order public
   * key is accepted but can never complete a handshake (as in wireguard-go). Throws on keys of
   * the wrong length or our own key. */
  addPeer(publicKey: Buffer, opts: { presharedKey?: Buffer; persistentKeepalive?: number } = {}): NoisePeer {
    assertKey(publicKey, 'peer public key');
    if (opts.presharedKey !== undefined) assertKey(opts.presharedKey, 'preshared key');
    if (this.hasKey && publicKey.equals(this.publicKey)) throw new Error('peer public key is our own public key');
    const id = publicKey.toString('hex');
    const existing = this.peers.get(id);
    if (existing) {
      if (opts.presharedKey !== undefined) existing.setPresharedKey(opts.presharedKey);
      if (opts.persistentKeepalive !== undefined) existing.persistentKeepalive = opts.persistentKeepalive;
      return existing;
    }
    const psk = opts.presharedKey ?? Buffer.alloc(KEY_SIZE);
    const peer = new NoisePeer(this.ctx, publicKey, psk, opts.persistentKeepalive ?? 0);
    const stamp = this.removedStamps.take(id);
    if (stamp) peer.handshake.lastTimestamp = stamp;
    this.peers.set(id, peer);
    return peer;
  }

  /** removePeer erases the peer's keys and frees its indices; its object becomes inert. The
   * newest timestamp it initiated with is kept for when it is added again (replay-memory.ts). */
  removePeer(publicKey: Buffer): void {
    const id = publicKey.toString('hex');
    const peer = this.peers.get(id);
    if (!peer) return;
    this.removedStamps.keep(id, peer.handshake.lastTimestamp);
    peer.remove();
    this.peers.delete(id);
    for (const [index, entry] of this.indices) if (entry.peer === peer) this.indices.delete(index);
  }

  /** triedBeforeAdded says whether the peer with this key sent us an initiation, while we did not
   * know it, recently enough that it will not try again for a while (early-initiators.ts): the
   * device then initiates to it at once. It answers once per attempt. */
  triedBeforeAdded(publicKey: Buffer, now: number): boolean {
    return this.early.triedRecently(publicKey.toString('hex'), now);
  }

  /** getPeer finds a peer by public key. */
  getPeer(publicKey: Buffer): NoisePeer | undefined {
    return this.peers.get(publicKey.toString('hex'));
  }

  /** listPeers returns all peers, for status. */
  listPeers(): NoisePeer[] {
    return [...this.peers.values()];
  }

  /** receiveControl handles message types 1, 2 and 3 from `from`. It never throws on bad
   * input; `msg` is not kept, so the caller may reuse it. */
  receiveControl(msg: Buffer, from: Endpoint, now: number): ControlResult {
    if (msg.length < 4) return dropped('bad-length');
    if (!this.hasKey) return dropped('no-private-key');
    switch (msg.readUInt32LE(0)) {
      case MessageType.Initiation:
        return this.onInitiation(msg, from, now);
      case MessageType.Response:
        return this.onResponse(msg, from, now);
      case MessageType.CookieReply:
        return this.onCookieReply(msg, now);
      default:
        return dropped('bad-type');
    }
  }

  /** keypairForIndex finds the session a transport message is addressed to (its receiver
   * field). The device must still drop it when `keypair.expired(now)`. The entry itself, not
   * a copy: this runs for every packet received, and a new object each time is garbage that
   * brings scavenges onto the packet path. */
  keypairForIndex(index: number): { readonly keypair: Keypair; readonly peer: NoisePeer } | undefined {
    const entry = this.indices.get(index);
    return entry?.keypair ? (entry as { readonly keypair: Keypair; readonly peer: NoisePeer }) : undefined;
  }

  /** receivedData records an authenticated, non-replayed transport message. If it confirmed
   * a session we responded to, `peer.sendKeypair(now)` becomes non-null and the device should
   * send what it queued. An initiation this asks for is returned by the next tick. */
  receivedData(peer: NoisePeer, keypair: Keypair, now: number, isKeepalive: boolean): void {
    peer.receivedData(keypair, now, isKeepalive);
  }

  /** tick runs every peer's timers; call it about every 100 ms. */
  tick(now: number): TickAction[] {
    const out: TickAction[] = [];
    for (const peer of this.peers.values()) peer.tick(now, out);
    return out;
  }

  /** checkMacs applies mac1, then lets admit decide with mac2's verdict (a cookie reply, a
   * drop, or null to go on). */
  private checkMacs(msg: Buffer, sender: number, from: Endpoint, now: number): ControlResult | null {
    if (!this.checker.checkMac1(msg)) return dropped('bad-mac1');
    const verdict = this.admit(from, this.checker.checkMac2(msg, from, now), now);
    if (verdict === 'process') return null;
    if (verdict !== 'cookie') return dropped(verdict);
    return {
      peer: null,
      reply: this.checker.createReply(msg, sender, from, now),
      sessionReady: false,
      drop: 'bad-mac2-cookie-sent',
    };
  }

  private onInitiation(msg: Buffer, from: Endpoint, now: number): ControlResult {
    const m = parseInitiation(msg);
    if (typeof m === 'string') return dropped(m);
    const macs = this.checkMacs(msg, m.sender, from, now);
    if (macs) return macs;
    const stage = openInitiationStatic(this.identity, m);
    if (typeof stage === 'string') return dropped(stage);
    const id = stage.remoteStatic.toString('hex');
    const peer = this.peers.get(id);
    if (!peer) {
      this.early.set(id, now);
      discardStage(stage);
      return dropped('unknown-peer');
    }
    const bad = finishInitiation(peer.handshake, stage, now);
    if (bad) return dropped(bad);
    const reply = peer.respond(now);
    if (!reply) return dropped('bad-key');
    return { peer, reply, sessionReady: false, drop: null };
  }

  private onResponse(msg: Buffer, from: Endpoint, now: number): ControlResult {
    const m = parseResponse(msg);
    if (typeof m === 'string') return dropped(m);
    const macs = this.checkMacs(msg, m.sender, from, now);
    if (macs) return macs;
    const entry = this.indices.get(m.receiver);
    if (!entry) return dropped('unknown-index');
    const peer = entry.peer;
    if (entry.keypair || peer.handshake.localIndex !== m.receiver) return dropped('no-handshake');
    const bad = consumeResponse(this.identity, peer.handshake, m);
    if (bad) return dropped(bad);
    peer.responseConsumed(now);
    return { peer, reply: null, sessionReady: peer.sendKeypair(now) !== null, drop: null };
  }

  private onCookieReply(msg: Buffer, now: number): ControlResult {
    const m = parseCookieReply(msg);
    if (typeof m === 'string') return dropped(m);
    const entry = this.indices.get(m.receiver);
    if (!entry) return dropped('unknown-index');
    if (!entry.peer.cookies.consumeReply(m, now)) return dropped('bad-cookie');
    // No peer: a cookie reply authenticates nobody (see ControlResult.peer).
    return { peer: null, reply: null, sessionReady: false, drop: null };
  }
}
