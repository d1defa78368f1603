// NatRuntime wires NAT traversal into a coordinated helper: it owns the PathBind hooks, the
// discovery client, one RelayClient per relay in the map and the PathManager, and follows
// each new network map. Static profiles do not use it (their endpoints are configured).
import type { NetworkMap, RelayInfo } from '../../../src-shared/wire/control.js';
import { NatKind, natKind } from '../../../src-shared/wire/nat-wire.js';
import { parseRelayFrame } from '../../../src-shared/wire/nat-relay.js';
import type { NatSummary, PeerPath } from '../../../src-shared/wire/status.js';
import type { Device } from '../wireguard/device/device.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { DiscoveryClient, mappingText } from './discovery-client.js';
import { byFamily, preferredFamily } from './family.js';
import { sendIp, type PathBind } from './path-bind.js';
import { ipEquals, type IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { PathManager } from './paths.js';
import { RelayClient } from './relay-client.js';

export interface NatOptions {
  device: Device;
  bind: PathBind;
  privateKey: Buffer;
  publicKey: Buffer;
  systemId: string;
  machineSeed: Buffer;
  coordinatorKey: Buffer;
  log: Logger;
  punch(identity: string): Promise<void>;
  /** relayToken fetches a token for the relay the map lists as `relay`. */
  relayToken(relay: string): Promise<{ token: Buffer; expires: number }>;
  /** discoveryKey fetches the key discovery requests are MACed with. */
  discoveryKey(): Promise<Buffer>;
  changed(): void;
}

/** Renew a relay token when less than this is left of it. */
const TOKEN_RENEW_MS = 3600_000;

export class NatRuntime {
  readonly paths: PathManager;
  private discovery: DiscoveryClient | null = null;
  private relaysKey = '';
  /** tokens: per relay name, the current token and the fetch under way */
  private readonly tokens = new Map<string, { token: Buffer; expires: number }>();
  private readonly tokenFetches = new Map<string, Promise<Buffer>>();
  private readonly drops = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: NatOptions) {
    const inner = o.bind.inner;
    const sendUdp = (buf: Buffer, addr: IpAddress, port: number): boolean => sendIp(inner, buf, addr, port);
    this.paths = new PathManager({
      device: o.device,
      privateKey: o.privateKey,
      publicKey: o.publicKey,
      log: o.log,
      sendUdp,
      punch: o.punch,
      changed: o.changed,
    });
    o.bind.hooks = {
      control: (msg, addr, port) => this.onControl(msg, addr, port),
      relayIndex: (words, at, port) => this.paths.relayIndex(words, at, port),
      relayedPort: (buf, at) => this.paths.relayedPort(buf, at),
      relaySend: (addr, port, buf, off, len, deferred, room) =>
        this.paths.relaySend(addr, port, buf, off, len, deferred, room),
      relayFlush: () => this.paths.flushRelays(),
      dropped: (reason) => this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1),
    };
  }

  start(): void {
    this.paths.start();
    this.timer = setInterval(() => this.tick(Date.now()), 500);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.paths.stop();
  }

  /** onMap follows a new map: peers and their candidates, the discovery port, the relays. */
  onMap(map: NetworkMap): void {
    this.paths.setPeers(
      map.peers.map((p) => ({ publicKey: p.publicKey, identity: p.identity, name: p.name, endpoints: p.endpoints })),
    );
    // A dual-stack coordinator names its port in both families: this machine's first.
    const family = preferredFamily();
    const targets = byFamily(
      [map.discovery, map.discovery6].filter((x) => x !== undefined),
      family,
    );
    if (targets.join(' ') !== (this.discovery?.target ?? '')) {
      this.discovery =
        targets.length === 0
          ? null
          : new DiscoveryClient({
              target: targets[0]!,
              alternates: targets.slice(1),
              systemId: this.o.systemId,
              machineSeed: this.o.machineSeed,
              coordinatorKey: this.o.coordinatorKey,
              key: () => this.o.discoveryKey(),
              sendUdp: (buf, addr, port) => sendIp(this.o.bind.inner, buf, addr, port),
              log: this.o.log,
              mapped: () => this.o.changed(),
            });
    }
    this.setRelays((map.relays ?? []).map((r) => relayForFamily(r, family)));
  }

  /** forget drops every peer path, relay registration and discovery (a revoked system). */
  forget(): void {
    this.paths.setPeers([]);
    this.setRelays([]);
    this.discovery = null;
  }

  private setRelays(relays: RelayInfo[]): void {
    const key = JSON.stringify(relays);
    if (key === this.relaysKey) return;
    this.relaysKey = key;
    // The same relay at the same address keeps its round trip; all are probed again at once.
    const before = new Map(this.paths.relays.map((r) => [`${r.name} ${r.info.udp ?? ''}`, r.probe?.rtt]));
    for (const r of this.paths.relays) r.close();
    for (const name of this.tokens.keys()) if (!relays.some((r) => r.name === name)) this.tokens.delete(name);
    this.paths.setRelays(
      relays.slice(0, 8).map((info, index) => {
        const rtt = before.get(`${info.name} ${info.udp ?? ''}`);
        return new RelayClient({
          ...(rtt !== undefined ? { rtt } : {}),
          info,
          index,
          machineSeed: this.o.machineSeed,
          log: this.o.log,
          changed: this.o.changed,
          sendUdp: (buf, addr, port) => sendIp(this.o.bind.inner, buf, addr, port),
          sendUdpBatch: (buf, offsets, lengths, addrWords, ports, count) =>
            this.o.bind.inner.sendBatch(buf, offsets, lengths, addrWords, ports, count),
          token: (renew) => this.relayToken(info.name, renew),
          deliverTcp: (frame) => this.fromTcpRelay(index, frame),
        });
      }),
    );
  }

  // relayToken keeps one token (and one fetch at a time) per relay: each relay checks a MAC made
  // with its own key. renew skips the cached one.
  private relayToken(relay: string, renew: boolean): Promise<Buffer> {
    const have = this.tokens.get(relay);
    if (!renew && have !== undefined && have.expires - Date.now() > TOKEN_RENEW_MS) return Promise.resolve(have.token);
    let fetch = this.tokenFetches.get(relay);
    if (fetch === undefined) {
      fetch = this.o
        .relayToken(relay)
        .then((t) => {
          this.tokens.set(relay, t);
          return t.token;
        })
        .finally(() => this.tokenFetches.delete(relay));
      this.tokenFetches.set(relay, fetch);
    }
    return fetch;
  }

  /** tick drives discovery (the relays and paths run on the PathManager's timer). */
  tick(now: number): void {
    this.discovery?.tick(now);
  }

  // onControl gets every NAT message PathBind took out of a UDP batch.
  private onControl(msg: Buffer, addr: IpAddress, port: number): void {
    const kind = natKind(msg);
    if (kind === NatKind.ping || kind === NatKind.pong) {
      this.paths.onDisco(msg, addr, port);
    } else if (kind === NatKind.discoveryReply) {
      const d = this.discovery;
      if (d !== null && d.addr !== null && ipEquals(addr, d.addr) && port === d.port) d.onReply(msg);
    } else if (kind === NatKind.relayRegistered || kind === NatKind.relayRefused) {
      this.paths.relays.find((r) => r.isRelayAddress(addr, port))?.onUdpControl(msg);
    } else if (kind === NatKind.relayProbeReply) {
      this.paths.relays.find((r) => r.isRelayAddress(addr, port))?.probe?.onReply(msg, Date.now());
    } else {
      this.drops.set('nat-unexpected', (this.drops.get('nat-unexpected') ?? 0) + 1);
    }
  }

  // fromTcpRelay hands a relayRecv frame that came over TCP to the device (or to disco).
  private fromTcpRelay(index: number, frame: Buffer): void {
    const f = parseRelayFrame(frame);
    const vport = f === null ? -1 : this.paths.relayedPort(f.id, 0);
    if (f === null || vport < 0) return;
    const v = { addr: index + 1, port: vport };
    const payload = frame.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength);
    const kind = natKind(payload);
    if (kind !== null) {
      if (kind === NatKind.ping || kind === NatKind.pong)
        this.paths.onDisco(Buffer.from(payload), { family: 4, v4: v.addr }, v.port);
      return;
    }
    // The device decrypts in place and may pad, so give it a private copy with room after it.
    const buf = Buffer.alloc(payload.length + 64);
    payload.copy(buf, 0);
    this.o.bind.inject({
      buf,
      count: 1,
      offsets: Uint32Array.of(0),
      lengths: Uint32Array.of(payload.length),
      addrWords: Uint32Array.of(0, 0, 0xffff, v.addr),
      ports: Uint16Array.of(v.port),
      // A relayed datagram has no local address of its own: replies go back through the relay.
      localWords: new Uint32Array(4),
      ifindex: new Uint32Array(1),
    });
  }

  pathOf(publicKey: string): PeerPath | undefined {
    return this.paths.pathOf(publicKey);
  }

  summary(): NatSummary {
    const m = this.discovery?.mapping ?? null;
    return {
      mapping: m ? mappingText(m) : null,
      relays: this.paths.relays.map((r) => {
        // Not measured (null) for a relay reached over TCP: probes measure the UDP way only.
        const srtt = r.srtt;
        return {
          name: r.name,
          transport: r.transport,
          error: r.error,
          // The map's region (signed by the coordinator) first; the relay's own word otherwise.
          region: r.info.region ?? (r.probe?.region || null),
          rttMs: srtt === null ? null : Math.round(srtt * 10) / 10,
          live: r.usable,
          inUse: r === this.paths.inUse,
        };
      }),
    };
  }
}

/** relayForFamily gives the relay's IPv6 endpoints (udp6, tcp6) where this machine prefers IPv6
 * and the relay has them, else its udp and tcp as listed. */
function relayForFamily(r: RelayInfo, family: 4 | 6): RelayInfo {
  if (family === 4 || (r.udp6 === undefined && r.tcp6 === undefined)) return r;
  const udp = r.udp6 ?? r.udp;
  const tcp = r.tcp6 ?? r.tcp;
  return {
    name: r.name,
    ...(udp !== undefined ? { udp } : {}),
    ...(tcp !== undefined ? { tcp } : {}),
    ...(r.region !== undefined ? { region: r.region } : {}),
  };
}
