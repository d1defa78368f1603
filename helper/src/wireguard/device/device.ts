// Device: the WireGuard data plane. It joins the sans-IO protocol core (noise/) to the I/O:
// packets from the adapter are routed to a peer by destination (cryptokey routing), encrypted in
// place and sent in one sendmmsg per batch; datagrams from the UDP socket are authenticated,
// checked against the sender's allowed IPs and written to the adapter in one batch.
import { NoiseCore, type NoisePeer, type TickAction } from '../noise/index.js';
import { ipEndpointEquals, type IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import type { TunAdapter } from '../../tun/index.js';
import type { Logger } from '../../../../src-shared/lib/log.js';
import type { IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { AllowedIps } from './allowed-ips.js';
import type { DeviceOptions, DevicePeerConfig, PacketFilter } from './device-types.js';
import type { Bind } from './bind.js';
import type { Reader } from '../../../../src-shared/lib/native/types.js';
import { boottimeMs } from '../../../../src-shared/lib/native/index.js';
import { publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';
import { DropCounters } from './counters.js';
import { DevicePeer, formatPeer } from './peer.js';
import { OutboundPath } from './send-path.js';
import { InboundPath } from './receive-path.js';
import { acquireDataPathThreads } from './data-path-threads.js';
import { HandshakeQueue } from './handshake-queue.js';
import { HandshakeLimits, rateKeyOf } from './handshake-limits.js';

export { formatPeer } from './peer.js';
export type { DeviceOptions, DevicePeerConfig, PacketFilter } from './device-types.js';

/** TICK_MS is how often the protocol timers run (§6 timers have second granularity). */
const TICK_MS = 100;
/** NO_PRESHARED_KEY is the all-zero key a peer without one uses (§5.2). */
const NO_PRESHARED_KEY = Buffer.alloc(32);
/** SWEEP_MS is how often the handshake limits forget addresses that went quiet. */
const SWEEP_MS = 1000;

/** Device is a running WireGuard interface. */
export class Device {
  readonly core: NoiseCore;
  readonly routes = new AllowedIps<DevicePeer>();
  readonly peersByKey = new Map<string, DevicePeer>();
  readonly peerOfNoise = new Map<NoisePeer, DevicePeer>();
  readonly drops = new DropCounters();
  /** handshakes holds handshake and cookie messages until the data is through (handshake-queue.ts). */
  readonly handshakes: HandshakeQueue;
  readonly limits = new HandshakeLimits();
  readonly clock: () => number;
  readonly log: Logger;
  /** filter, when set, decides every packet after cryptokey routing (null: all pass). */
  filter: PacketFilter | null = null;
  /** roamGuard, when set, may keep an authenticated packet's source from becoming the peer's
   * endpoint (NAT traversal keeps a working direct path when the peer still uses a relay). The
   * source is the address at words[at .. at+3] (lib/ip/words.ts), valid only during the call. */
  roamGuard: ((peer: DevicePeer, words: Uint32Array, at: number, port: number) => boolean) | null = null;
  /** mtu bounds the padding of outgoing packets (§5.4.6); its owner follows the adapter's MTU. */
  mtu: number;
  private currentBind: Bind;
  private privateKeyBytes: Buffer | null;
  private nextIndex = 0;
  private readonly freeIndices: number[] = [];
  private readonly outbound: OutboundPath;
  private readonly inbound: InboundPath;
  private readers: Reader[] = [];
  private udpReader: Reader | null = null;
  private timer: NodeJS.Timeout | null = null;
  private releaseThreads?: () => void;
  // A double from the start, as the clock's readings are: a field that starts as a small integer
  // gets a new hidden class at the first double stored in it, and V8 then throws away the code
  // the warm-up optimized for the old one (daemon/warm-up.ts) at the first real packets.
  private sweptAt = Number.NEGATIVE_INFINITY;
  /** up is false while the tunnel is disconnected: every packet either way is dropped and
   * counted as 'disconnected', sessions are erased and no handshake is started. */
  private up = true;

  constructor(readonly opts: DeviceOptions) {
    this.clock = opts.clock ?? boottimeMs;
    this.log = opts.log;
    this.mtu = opts.mtu;
    this.currentBind = opts.bind;
    this.privateKeyBytes = opts.privateKey === null ? null : Buffer.from(opts.privateKey);
    this.core = new NoiseCore({
      privateKey: opts.privateKey,
      admit: (from, proven, now) => this.limits.admit(rateKeyOf(from.ip), proven, this.handshakes.underLoad(now), now),
    });
    if (this.log.enabled('debug')) {
      this.drops.onDrop = (reason, n) =>
        this.log.rateLimited(`drop:${reason}`, 1000).debug(`dropped ${n} packet(s): ${reason}`);
    }
    this.outbound = new OutboundPath(this);
    this.inbound = new InboundPath(this);
    this.handshakes = new HandshakeQueue(
      (buf, off, len, words, at, port, local, now) => this.inbound.control(buf, off, len, words, at, port, local, now),
      this.drops,
      this.clock,
    );
  }

  get bind(): Bind {
    return this.currentBind;
  }

  /** privateKey is the static private key in use, or null when the device has none. */
  get privateKey(): Buffer | null {
    return this.privateKeyBytes;
  }

  get tun(): TunAdapter {
    return this.opts.tun;
  }

  /** addPeer adds a peer and its allowed IPs (a prefix already owned by another peer moves). */
  addPeer(cfg: DevicePeerConfig): DevicePeer {
    const key = cfg.publicKey.toString('base64');
    if (this.peersByKey.has(key)) throw new Error(`peer ${key} is already configured`);
    const { presharedKey, persistentKeepalive } = cfg;
    const noise = this.core.addPeer(cfg.publicKey, { presharedKey, persistentKeepalive });
    const index = this.freeIndices.pop() ?? this.nextIndex++;
    const peer = new DevicePeer(index, noise, cfg.name ?? null, cfg.allowedIps.slice());
    if (cfg.endpoint) peer.setEndpoint(cfg.endpoint);
    for (const p of cfg.allowedIps) this.routes.insert(p, peer);
    this.peersByKey.set(key, peer);
    this.peerOfNoise.set(noise, peer);
    this.answerEarlyInitiator(peer);
    return peer;
  }

  /** answerEarlyInitiator sends an initiation at once to a peer that tried us before it was
   * added (noise/early-initiators.ts), when it has an endpoint: on adding it, or when NAT
   * traversal gives it its first path. */
  answerEarlyInitiator(peer: DevicePeer): void {
    if (!this.up || !peer.hasEndpoint || !this.core.triedBeforeAdded(peer.noise.publicKey, this.clock())) return;
    this.initiate(peer, this.clock());
  }

  /**
   * updatePeer changes a configured peer in place, keeping its sessions and slot: allowed IPs
   * are replaced, the name and keepalive follow the config, and the endpoint is set only when
   * the configured endpoint itself changed (prevEndpoint), so a peer that roamed stays where
   * it was last heard from. A new preshared key erases the sessions keyed with the old one
   * but keeps the peer's replay protection (NoisePeer.setPresharedKey), and a new handshake
   * starts at once if packets wait or keepalive is on.
   */
  updatePeer(cfg: DevicePeerConfig, prevEndpoint?: IpEndpoint): DevicePeer {
    const peer = this.peersByKey.get(cfg.publicKey.toString('base64'));
    if (!peer) return this.addPeer(cfg);
    this.replaceAllowedIps(peer, cfg.allowedIps);
    peer.name = cfg.name ?? null;
    peer.noise.persistentKeepalive = cfg.persistentKeepalive;
    const moved =
      cfg.endpoint !== undefined && (prevEndpoint === undefined || !ipEndpointEquals(prevEndpoint, cfg.endpoint));
    if (cfg.endpoint && (moved || !peer.hasEndpoint)) peer.setEndpoint(cfg.endpoint);
    if (peer.noise.setPresharedKey(cfg.presharedKey ?? NO_PRESHARED_KEY)) {
      peer.noise.restart();
      if (this.up && (peer.staged.length > 0 || peer.noise.persistentKeepalive > 0)) this.initiate(peer, this.clock());
    }
    return peer;
  }

  /**
   * replaceAllowedIps makes list the peer's allowed IPs (UAPI replace_allowed_ips). Only the
   * old allowed IPs the peer still owns are taken out: routes through an exit node also point
   * at the peer and belong to ExitRoutes. One trie walk or two per prefix; the list is copied.
   */
  replaceAllowedIps(peer: DevicePeer, list: readonly IpPrefix[]): void {
    for (const p of peer.allowedIps) if (this.routes.exact(p) === peer) this.routes.remove(p);
    peer.allowedIps = list.slice();
    for (const p of list) this.routes.insert(p, peer);
  }

  /** addAllowedIps adds prefixes to the peer's allowed IPs (UAPI allowed_ip): a prefix owned by
   * another peer moves, and one the peer already routes is not listed twice. */
  addAllowedIps(peer: DevicePeer, list: readonly IpPrefix[]): void {
    for (const p of list) {
      if (this.routes.exact(p) === peer) continue;
      this.routes.insert(p, peer);
      peer.allowedIps.push(p);
    }
  }

  /** removePeer forgets a peer: its routes, staged packets and key material. */
  removePeer(publicKey: Buffer): void {
    const key = publicKey.toString('base64');
    const peer = this.peersByKey.get(key);
    if (!peer) return;
    this.routes.removeValue(peer);
    this.peersByKey.delete(key);
    this.peerOfNoise.delete(peer.noise);
    peer.staged = [];
    this.freeIndices.push(peer.index);
    this.core.removePeer(publicKey);
  }

  /** isUp tells whether the tunnel passes traffic (see setUp). */
  get isUp(): boolean {
    return this.up;
  }

  /**
   * setUp connects or disconnects the tunnel without stopping the device. Down erases every
   * session and staged packet (as wireguard-go's `ip link set down` does), so nothing sent
   * before the disconnect is delivered after it; the readers keep draining the adapter and
   * the socket so stale packets cannot pile up. Up starts handshakes with keepalive peers at
   * once, as start() does.
   */
  setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    if (!up) {
      if (this.handshakes.length > 0) this.drops.add('disconnected', this.handshakes.length);
      this.handshakes.clear();
      for (const peer of this.peersByKey.values()) {
        if (peer.staged.length > 0) this.drops.add('disconnected', peer.staged.length);
        peer.staged = [];
        peer.noise.zeroAll();
      }
      return;
    }
    for (const peer of this.peersByKey.values()) peer.noise.restart();
    this.initiateKeepalivePeers();
  }

  /** start runs the readers, the crypto threads and the wake ticker (if on) and the timers. */
  start(): void {
    this.releaseThreads = acquireDataPathThreads();
    this.readers.push(
      this.tun.startReader(
        (b) => this.outbound.onBatch(b),
        (e) => this.readerError('adapter', e),
      ),
    );
    this.udpReader = this.startUdpReader();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.initiateKeepalivePeers();
  }

  // Peers with a persistent keepalive and a known endpoint are brought up at once, as
  // wireguard-go does, so that NAT mappings open without waiting for traffic.
  private initiateKeepalivePeers(): void {
    const now = this.clock();
    for (const peer of this.peersByKey.values()) if (peer.noise.persistentKeepalive > 0) this.initiate(peer, now);
  }

  /** stop halts I/O and timers; the adapter and socket are closed by their owner. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.handshakes.stop();
    for (const r of this.readers) r.stop();
    this.readers = [];
    this.udpReader?.stop();
    this.udpReader = null;
    this.releaseThreads?.();
  }

  /** replaceBind moves the device to another UDP socket (a new listen port) and returns the old
   * one for its owner to close. Sessions stay: peers roam to the new port (§2.1). */
  replaceBind(bind: Bind): Bind {
    const old = this.currentBind;
    this.currentBind = bind;
    if (this.udpReader !== null) {
      this.udpReader.stop();
      this.udpReader = this.startUdpReader();
    }
    return old;
  }

  /** setPrivateKey changes the static key as wireguard-go does for a UAPI set: a peer with the
   * new own public key is removed, sessions made with the old key are erased, and peers with
   * waiting packets or a keepalive start a handshake at once. null leaves the device keyless:
   * it drops every packet that needs a session and sends nothing. */
  setPrivateKey(key: Buffer | null): void {
    if (key === null ? this.privateKeyBytes === null : this.privateKeyBytes?.equals(key)) return;
    if (key !== null) this.removePeer(publicKeyFromPrivate(key));
    this.core.setPrivateKey(key);
    this.privateKeyBytes = key === null ? null : Buffer.from(key);
    if (!this.up || key === null) return;
    const now = this.clock();
    for (const peer of this.peersByKey.values()) {
      peer.noise.restart();
      if (peer.staged.length > 0 || peer.noise.persistentKeepalive > 0) this.initiate(peer, now);
    }
  }

  /** removeAllPeers forgets every peer (a UAPI replace_peers). */
  removeAllPeers(): void {
    for (const peer of [...this.peersByKey.values()]) this.removePeer(peer.noise.publicKey);
  }

  private startUdpReader(): Reader {
    const onError = (e: Error): void => this.readerError('UDP', e);
    return this.currentBind.startReader(
      (this.opts.maxPacket ?? this.opts.mtu) + 64,
      (b) => this.inbound.onBatch(b),
      onError,
    );
  }

  private readerError(what: 'adapter' | 'UDP', e: Error): void {
    this.log.error(`${what} reader stopped: ${e.message}`);
    this.opts.onReaderError?.(what, e);
  }

  /** roam moves a peer's endpoint to where an authenticated packet came from (§2.1 roaming),
   * the address at words[at .. at+3], of either family, and its source to the local address
   * the packet arrived on, local[at .. at+3], unless roamGuard says no. */
  roam(peer: DevicePeer, words: Uint32Array, at: number, port: number, local: Uint32Array): void {
    if (this.roamGuard !== null && !this.roamGuard(peer, words, at, port)) return;
    peer.setSourceWords(local, at);
    if (peer.setEndpointWords(words, at, port))
      this.log.info(`peer ${peer.name ?? ''} endpoint is now ${formatPeer(peer)}`);
  }

  /** initiate sends a handshake initiation to the peer if the core allows one now. */
  initiate(peer: DevicePeer, now: number): void {
    if (!peer.hasEndpoint) return;
    const msg = peer.noise.initiate(now);
    if (msg) this.sendControl(peer, msg);
  }

  /** sendControl sends a handshake or cookie message to the peer's endpoint. */
  sendControl(peer: DevicePeer, msg: Buffer): void {
    if (!peer.hasEndpoint) return;
    // A refused source is zeroed in peer.sourceWords by the send itself (Bind.send).
    if (!this.bind.send(msg, 0, msg.length, peer.endpointWords, 0, peer.endpointPort, peer.sourceWords))
      this.drops.add('udp-send-failed');
    else peer.countTx(msg.length);
  }

  /** flushStaged sends the packets a peer staged while it had no session, if it has one now. */
  flushStaged(peer: DevicePeer, now: number): void {
    if (peer.staged.length === 0) return;
    if (!peer.noise.sendKeypair(now)) return;
    const packets = peer.staged;
    peer.staged = [];
    this.outbound.sendPackets(peer, packets, now);
  }

  /** runTimers does now what the timer does every TICK_MS: the protocol timers and the sweep of
   * the handshake limits. The warm-up calls it (daemon/warm-up.ts), so that the timers' code is
   * optimized, and the fields they set have their kinds, before the real device starts. */
  runTimers(): void {
    this.tick();
  }

  /** sendKeepaliveNow sends an empty data message to the peer. */
  sendKeepaliveNow(peer: DevicePeer, now: number): void {
    this.outbound.sendKeepalive(peer, now);
  }

  private tick(): void {
    if (!this.up) return;
    const now = this.clock();
    if (now - this.sweptAt >= SWEEP_MS) {
      this.sweptAt = now;
      this.limits.sweep(now);
    }
    let actions: TickAction[];
    try {
      actions = this.core.tick(now);
    } catch (e) {
      this.log.error(`protocol timers failed: ${(e as Error).message}`);
      return;
    }
    for (const a of actions) {
      const peer = this.peerOfNoise.get(a.peer);
      if (!peer) continue;
      switch (a.kind) {
        case 'send-initiation':
          this.sendControl(peer, a.message);
          break;
        case 'send-keepalive':
          this.outbound.sendKeepalive(peer, now);
          break;
        case 'handshake-failed':
          if (peer.staged.length > 0) this.drops.add('handshake-failed', peer.staged.length);
          peer.staged = [];
          this.log.info(`handshake with ${peer.name ?? formatPeer(peer)} failed; will retry when there is traffic`);
          break;
      }
    }
  }
}
