// PathManager finds and keeps the best way to each peer. Every peer has candidate addresses
// (from the map: its public mapping, its LAN addresses; from punches; from where its pings come
// from). The manager pings them all from the WireGuard socket, so the pings open NAT mappings
// exactly as WireGuard traffic would; a pong proves a path works both ways and measures it.
// The best confirmed direct path wins; until one exists (or when none works) traffic goes
// through a relay after a short grace period, and direct paths keep being probed in the
// background, so a relayed peer moves to a direct path as soon as one opens. The switch only
// changes the device peer's endpoint: WireGuard sessions, and the TCP connections inside them,
// carry on.
import { peerId } from '../../../src-shared/wire/nat-wire.js';
import { PeerIdMap } from './peer-ids.js';
import type { PeerPath } from '../../../src-shared/wire/status.js';
import { ipEquals, type IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { readWordsAddress } from '../../../src-shared/lib/ip/words.js';
import type { Device } from '../wireguard/device/device.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { discoAuthentic, discoKey, newTxid, openDisco, sealPing, sealPong } from './disco.js';
import { isVirtualAddress, isVirtualWords } from './path-bind.js';
import { replaces } from './path-choice.js';
import {
  candidateEndpoint,
  MAX_CANDIDATES,
  MAX_PENDING,
  newPeerState,
  PATH_TIMING,
  peerPath,
  PONGS_PER_SECOND,
  type Candidate,
  type PeerState,
} from './path-state.js';

export { PATH_TIMING } from './path-state.js';
import type { RelayClient } from './relay-client.js';
import { relayPingEvery, RelaySet } from './relay-set.js';

export interface PathManagerOptions {
  device: Device;
  privateKey: Buffer;
  publicKey: Buffer;
  log: Logger;
  /** sendUdp sends from the WireGuard socket to a real address of either family. */
  sendUdp(buf: Buffer, addr: IpAddress, port: number): boolean;
  /** punch asks the coordinator to tell the peer to probe us now. */
  punch(identity: string): Promise<void>;
  changed(): void;
}

/** PathPeer is what the manager needs of one map peer. */
export interface PathPeer {
  publicKey: string;
  identity: string;
  name: string;
  endpoints: string[];
}

export class PathManager {
  private readonly byKey = new Map<string, PeerState>();
  private readonly byId = new PeerIdMap<PeerState>();
  private readonly byVport = new Map<number, PeerState>();
  private nextVport = 1;
  private readonly ownId: Uint8Array;
  private readonly relaySet: RelaySet;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: PathManagerOptions) {
    this.ownId = peerId(o.publicKey);
    this.relaySet = new RelaySet(o.log, o.changed);
    o.device.roamGuard = (peer, words, at) => this.mayRoam(peer, words, at);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(Date.now()), PATH_TIMING.tick);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.relaySet.close();
    this.o.device.roamGuard = null;
  }

  /** setPeers follows the map: new peers get state, gone ones lose it, candidates refresh. */
  setPeers(peers: PathPeer[]): void {
    const now = Date.now();
    const keep = new Set<string>();
    for (const p of peers) {
      const dp = this.o.device.peersByKey.get(p.publicKey);
      if (!dp) continue;
      keep.add(p.publicKey);
      let st = this.byKey.get(p.publicKey);
      if (!st || st.peer !== dp) {
        if (st) this.byVport.delete(st.vport); // the device peer was replaced: start afresh
        const pub = Buffer.from(p.publicKey, 'base64');
        st = newPeerState(dp, p, peerId(pub), discoKey(this.o.privateKey, pub), this.allocVport(), now);
        this.byKey.set(p.publicKey, st);
        this.byId.set(st.id, st);
        this.byVport.set(st.vport, st);
      }
      st.name = p.name;
      // Addresses the map no longer lists go (a mapping that changed), unless one is the path
      // in use right now; it then lives until it stops answering.
      const listed = new Set(p.endpoints.map((e) => candidateEndpoint(e)?.text));
      for (const [text, c] of st.candidates) {
        if (c.source === 'map' && c !== st.direct && !listed.has(text)) st.candidates.delete(text);
      }
      for (const e of p.endpoints) this.addCandidate(st, e, 'map');
    }
    for (const [k, st] of this.byKey) {
      if (keep.has(k)) continue;
      this.byKey.delete(k);
      this.byId.delete(st.id);
      this.byVport.delete(st.vport);
    }
  }

  private allocVport(): number {
    for (let i = 0; i < 65535; i++) {
      const v = this.nextVport;
      this.nextVport = v >= 65535 ? 1 : v + 1;
      if (!this.byVport.has(v)) return v;
    }
    throw new Error('no free virtual endpoint ports (more than 65,535 peers)');
  }

  private addCandidate(st: PeerState, written: string, source: Candidate['source']): Candidate | null {
    const ep = candidateEndpoint(written);
    if (ep === null) return null;
    const text = ep.text; // canonical, so one address written two ways is one candidate
    const existing = st.candidates.get(text);
    if (existing) return existing;
    if (st.candidates.size >= MAX_CANDIDATES) {
      // Make room by forgetting the oldest unconfirmed candidate learned from a ping or punch.
      const victim = [...st.candidates.values()].find((c) => c.source !== 'map' && c !== st.direct && c.lastPong === 0);
      if (!victim) return null;
      st.candidates.delete(victim.text);
    }
    const c: Candidate = { addr: ep.addr, port: ep.port, text, source, lastPing: 0, lastPong: 0, rtt: null };
    st.candidates.set(text, c);
    return c;
  }

  /** punched: the coordinator says `identity` is probing us; probe it back right away. */
  punched(identity: string, endpoints: string[]): void {
    const st = [...this.byKey.values()].find((s) => s.identity === identity);
    if (!st) return;
    // The coordinator forwards at most one punch a second per pair; hold to that here too, so
    // a flood of events (a misbehaving or impersonated stream) cannot turn into a ping flood.
    const now = Date.now();
    if (now - st.lastPunchIn < 1000) return;
    st.lastPunchIn = now;
    for (const e of endpoints.slice(0, 16)) this.addCandidate(st, e, 'punch');
    for (const c of st.candidates.values()) if (st.direct === null) this.ping(st, c, now);
  }

  // mayRoam keeps WireGuard's roaming from pulling a peer with a working direct path back onto
  // a relay just because the other side still sends through it for a moment, and a relayed
  // peer onto a relay this side would not use for it (relay-set.ts mayRoamTo), which the next
  // tick would undo: the endpoint is the path the data takes and the one status reports, so it
  // moves only to where it is meant to stay.
  private mayRoam(peer: DevicePeer, words: Uint32Array, at: number): boolean {
    if (!isVirtualWords(words, at)) return true;
    const st = this.byKey.get(peer.noise.publicKey.toString('base64'));
    if (st === undefined) return true;
    const r = words[at + 3]! - 1;
    if (st.direct !== null || !this.relaySet.mayRoamTo(this.ownId, st, r, Date.now())) return false;
    // The device moves the endpoint once this returns: tell status watchers after it did.
    queueMicrotask(() => this.followed(st, r, "the peer's packets come through it"));
    return true;
  }

  // followed logs a relayed peer's move to relay r, made by tickPeer or by the peer's own
  // packets (roaming, or the leader's relayed pings), and tells status watchers.
  private followed(st: PeerState, r: number, why: string): void {
    this.o.log.info(`path to ${st.name} (${st.identity}): relayed through ${this.relays[r]?.name ?? '?'} (${why})`);
    this.o.changed();
  }

  // ---- relays

  get relays(): readonly RelayClient[] {
    return this.relaySet.list;
  }

  /** inUse is the relay new relayed sessions use (relay-set.ts), or null. */
  get inUse(): RelayClient | null {
    return this.relaySet.inUse;
  }

  /** setRelays takes the relays of a new map (the old clients are closed by the caller). */
  setRelays(list: RelayClient[]): void {
    this.relaySet.set(list);
  }

  /** relayIndex is the index of the relay whose UDP address is at words[at] and port, or -1. */
  relayIndex(words: Uint32Array, at: number, port: number): number {
    const list = this.relays;
    for (let r = 0; r < list.length; r++) if (list[r]!.isRelayWords(words, at, port)) return r;
    return -1;
  }

  /** relayedPort is the virtual port of the peer whose id lies at buf[at, at+8), or -1. */
  relayedPort(buf: Uint8Array, at: number): number {
    return this.byId.get(buf, at)?.vport ?? -1;
  }

  /** relaySend sends a datagram addressed to a virtual endpoint through its relay (room: the
   * free bytes before off, RelayClient.send). */
  relaySend(addr: number, port: number, buf: Buffer, off: number, len: number, deferred = false, room = 0): boolean {
    const relay = this.relays[addr - 1];
    const st = this.byVport.get(port);
    if (!relay || !st) return false;
    return relay.send(st.id, buf, off, len, deferred, room);
  }

  /** flushRelays sends what deferred relaySends queued. */
  flushRelays(): void {
    for (const r of this.relays) r.flush();
  }

  // relayFor is the relay (index) to reach st through, or -1 (relay-set.ts: who leads).
  private relayFor(st: PeerState): number {
    const w = st.peer.endpointWords;
    return this.relaySet.indexFor(this.ownId, st, isVirtualWords(w, 0) ? w[3]! - 1 : -1);
  }

  // ---- disco

  /** onDisco handles a ping or pong that came from addr:port (real or virtual). */
  onDisco(msg: Buffer, addr: IpAddress, port: number): void {
    const m = openDisco(msg);
    if (m === null) return;
    const st = this.byId.get(m.senderId);
    if (!st || st.key === null || !discoAuthentic(st.key, m)) return;
    const now = Date.now();
    if (m.kind === 'ping') {
      if (now - st.pongWindow >= 1000) {
        st.pongWindow = now;
        st.pongs = 0;
      }
      if (st.pongs++ >= PONGS_PER_SECOND) return;
      const virtual = isVirtualAddress(addr);
      const seen: IpAddress = virtual ? { family: 4, v4: 0 } : addr;
      this.sendTo(sealPong(st.key, this.ownId, m.txid, seen, port), addr, port);
      // A follower goes where the leader's relayed pings come from, idle tunnel or not (relay-set.ts).
      if (virtual && addr.family === 4 && st.direct === null && this.relaySet.follows(this.ownId, st, addr.v4 - 1))
        if (!this.usesPath(st, addr, port)) {
          this.use(st, addr, port);
          this.followed(st, addr.v4 - 1, "the leader's pings come through it");
        }
      if (!virtual) {
        // Where a peer's ping comes from is a path to it (its NAT's mapping towards us).
        const c = this.addCandidate(st, formatIpEndpoint({ addr, port }), 'ping');
        if (c !== null && st.direct === null && now - c.lastPing >= 200) this.ping(st, c, now);
      }
      return;
    }
    const key = Buffer.from(m.txid).toString('hex');
    const p = st.pending.get(key);
    if (!p) return;
    st.pending.delete(key);
    const rtt = now - p.sentAt;
    if (p.cand === null) {
      st.relayRtt = rtt;
      const via = addr.family === 4 && isVirtualAddress(addr) ? this.relays[addr.v4 - 1]?.name : undefined;
      if (via !== undefined) st.relayPong = { at: now, via };
      st.relayUnanswered = 0;
      return;
    }
    const c = p.cand;
    if (!ipEquals(c.addr, addr) || c.port !== port) return; // a pong must come back the way the ping went
    c.lastPong = now;
    c.rtt = rtt;
    const cur = st.direct;
    if (cur === null || cur === c || now - cur.lastPong > PATH_TIMING.directTimeout || replaces(c, rtt, cur)) {
      if (cur !== c) {
        st.direct = c;
        this.o.log.info(
          `path to ${st.name} (${st.identity}): direct via ${c.text}, ${rtt} ms` +
            (cur ? ` (was ${cur.text})` : isVirtualWords(st.peer.endpointWords, 0) ? ' (was relayed)' : ''),
        );
        this.use(st, c.addr, c.port);
        this.o.changed();
      }
    }
  }

  private sendTo(msg: Buffer, addr: IpAddress, port: number): void {
    if (addr.family === 4 && isVirtualAddress(addr)) this.relaySend(addr.v4, port, msg, 0, msg.length);
    else this.o.sendUdp(msg, addr, port);
  }

  private ping(st: PeerState, c: Candidate | null, now: number): void {
    if (st.key === null) return;
    if (st.pending.size >= MAX_PENDING) {
      for (const [k, v] of st.pending)
        if (now - v.sentAt > 5000 || st.pending.size >= MAX_PENDING) st.pending.delete(k);
    }
    const txid = newTxid();
    const msg = sealPing(st.key, this.ownId, txid);
    if (c === null) {
      const r = this.relayFor(st);
      if (r < 0) return;
      st.pending.set(txid.toString('hex'), { cand: null, sentAt: now });
      st.relayPingAt = now;
      const via = this.relays[r]?.name ?? null;
      if (st.relayPingVia !== via) [st.relayPingVia, st.relayUnanswered] = [via, 0];
      st.relayUnanswered++;
      this.relaySend(r + 1, st.vport, msg, 0, msg.length);
      return;
    }
    c.lastPing = now;
    st.pending.set(txid.toString('hex'), { cand: c, sentAt: now });
    this.o.sendUdp(msg, c.addr, c.port);
  }

  // use points the device peer at a path (a real endpoint or a virtual relayed one). A peer that
  // tried us before it was added had no path then: it is answered now (Device.addPeer).
  private use(st: PeerState, addr: IpAddress, port: number): void {
    st.peer.setEndpoint({ addr, port });
    this.o.device.answerEarlyInitiator(st.peer);
  }

  // usesPath tells whether the device peer's endpoint is addr:port already.
  private usesPath(st: PeerState, addr: IpAddress, port: number): boolean {
    return st.peer.endpointPort === port && ipEquals(readWordsAddress(st.peer.endpointWords, 0), addr);
  }

  // ---- the clock

  tick(now: number): void {
    // A disconnected tunnel sends nothing at all, probes and relay registrations included.
    if (!this.o.device.isUp) return;
    this.relaySet.tick(now);
    for (const st of this.byKey.values()) this.tickPeer(st, now);
  }

  private tickPeer(st: PeerState, now: number): void {
    if (st.direct !== null && now - st.direct.lastPong > PATH_TIMING.directTimeout) {
      this.o.log.info(`path to ${st.name} (${st.identity}): direct path ${st.direct.text} stopped answering`);
      st.direct = null;
      st.lostAt = now;
      this.o.changed();
    }
    const d = st.direct;
    const fast = d === null && now - st.lostAt < PATH_TIMING.fastWindow;
    for (const c of st.candidates.values()) {
      const every =
        c === d
          ? PATH_TIMING.heartbeat
          : d !== null
            ? PATH_TIMING.probeBetter
            : fast
              ? PATH_TIMING.probeFast
              : PATH_TIMING.probeSlow;
      if (now - c.lastPing >= every) this.ping(st, c, now);
    }
    if (d !== null) {
      if (!this.usesPath(st, d.addr, d.port)) this.use(st, d.addr, d.port);
      return;
    }
    if (now - st.lastPunch >= PATH_TIMING.punchEvery && st.candidates.size > 0) {
      st.lastPunch = now;
      this.o
        .punch(st.identity)
        .catch((e: Error) =>
          this.o.log.rateLimited(`punch-${st.identity}`, 60_000).debug(`punch ${st.identity}: ${e.message}`),
        );
    }
    const r = this.relayFor(st);
    if (r >= 0 && now - st.lostAt >= PATH_TIMING.relayAfter) {
      const virtual: IpAddress = { family: 4, v4: r + 1 };
      if (!this.usesPath(st, virtual, st.vport)) {
        const w = st.peer.endpointWords;
        const was = isVirtualWords(w, 0) ? this.relays[w[3]! - 1]?.name : undefined;
        // Silence on a new relay counts from its first answer; on the relay the last answer
        // came through it goes on counting, so that coming back to that relay does not forget
        // that it stopped carrying this peer.
        if (st.relayPong?.via !== this.relays[r]!.name) st.relayPong = null;
        this.use(st, virtual, st.vport);
        this.followed(st, r, was !== undefined ? `was ${was}` : 'no direct path answers');
      }
      if (now - st.relayPingAt >= relayPingEvery(st)) this.ping(st, null, now);
      if (this.relaySet.silent(st, r, now)) {
        this.relaySet.giveUp(st, r, now);
        this.o.changed();
      }
    }
  }

  // ---- status

  pathOf(publicKey: string): PeerPath | undefined {
    const st = this.byKey.get(publicKey);
    return st === undefined ? undefined : peerPath(st, (i) => this.relays[i]?.name ?? null);
  }
}
