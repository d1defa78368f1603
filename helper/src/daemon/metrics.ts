// The helper's Prometheus metrics (GET /v1/metrics, text exposition format 0.0.4). Every value
// is read at scrape time from counters the helper keeps anyway (the device's per-peer counters,
// the drop counters, the firewall's flow table, the nameserver's stats), so the packet path does
// no extra work for them. Counters are re-filled from those totals on each scrape: a peer that
// left the peer table leaves the metrics with it, so the peer label is bounded by that table.
// DNS is counted by outcome only, never by name.
import { Counter, Gauge, Registry } from 'prom-client';
import { formatKey } from '../../../src-shared/lib/keys.js';
import type { DevicePeer } from '../wireguard/device/peer.js';
import { dropsOf, peerIdentityOf, type StatusContext } from './status.js';

type PeerField = 'rxBytes' | 'txBytes' | 'rxPackets' | 'txPackets';
const PATH_TYPES = ['direct', 'relay', 'none'] as const;

/** HelperMetrics is one helper's registry (its own, not prom-client's global one). */
export class HelperMetrics {
  readonly registry = new Registry();

  constructor(private readonly ctx: StatusContext) {
    this.peerCounter('warren_peer_rx_bytes_total', 'WireGuard bytes received from the peer (UDP payload).', 'rxBytes');
    this.peerCounter('warren_peer_tx_bytes_total', 'WireGuard bytes sent to the peer (UDP payload).', 'txBytes');
    this.peerCounter('warren_peer_rx_packets_total', 'WireGuard datagrams received from the peer.', 'rxPackets');
    this.peerCounter('warren_peer_tx_packets_total', 'WireGuard datagrams sent to the peer.', 'txPackets');
    this.peerHandshakes();
    this.peerPaths();
    this.drops();
    this.firewall();
    this.dns();
    this.peersGauge();
  }

  /** text renders every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private peers(): Array<{ identity: string; peer: DevicePeer }> {
    const device = this.ctx.device;
    if (!device) return [];
    const identityOf = peerIdentityOf(this.ctx.profile);
    return [...device.peersByKey.values()].map((peer) => ({ identity: identityOf(peer), peer }));
  }

  private peerCounter(name: string, help: string, field: PeerField): void {
    const peers = () => this.peers();
    new Counter({
      name,
      help,
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { identity, peer } of peers()) this.inc({ peer: identity }, peer[field]);
      },
    });
  }

  private peerHandshakes(): void {
    const peers = () => this.peers();
    new Counter({
      name: 'warren_peer_handshakes_total',
      help: 'WireGuard handshakes completed with the peer (either side initiating).',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { identity, peer } of peers()) this.inc({ peer: identity }, peer.noise.handshakesCompleted);
      },
    });
  }

  /** peerPaths: 1 for the way packets reach each peer now, 0 for the others (coordinated mode). */
  private peerPaths(): void {
    const peers = () => this.peers();
    const nat = () => this.ctx.nat ?? null;
    new Gauge({
      name: 'warren_peer_path',
      help: 'How packets reach the peer now: 1 for the path type in use (direct, relay or none), 0 for the others.',
      labelNames: ['peer', 'type'],
      registers: [this.registry],
      collect() {
        this.reset();
        const n = nat();
        if (!n) return;
        for (const { identity, peer } of peers()) {
          const now = n.pathOf(formatKey(peer.noise.publicKey))?.type ?? 'none';
          for (const type of PATH_TYPES) this.set({ peer: identity, type }, type === now ? 1 : 0);
        }
      },
    });
  }

  private drops(): void {
    const ctx = this.ctx;
    new Counter({
      name: 'warren_drops_total',
      help: 'Packets the data plane dropped, by reason (the reasons of `warren status --json` drops).',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(dropsOf(ctx))) this.inc({ reason }, n);
      },
    });
  }

  private firewall(): void {
    const policy = () => this.ctx.policy ?? null;
    new Gauge({
      name: 'warren_firewall_flows',
      help: 'Connections the firewall tracks now.',
      registers: [this.registry],
      collect() {
        this.set(policy()?.summary().flows ?? 0);
      },
    });
    new Counter({
      name: 'warren_firewall_flow_evictions_total',
      help: 'Tracked flows pushed out to make room, by reason (peer-share, table-full, probe-window).',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(policy()?.summary().evictions ?? {})) this.inc({ reason }, n);
      },
    });
  }

  private dns(): void {
    const dns = () => this.ctx.dns ?? null;
    new Counter({
      name: 'warren_dns_queries_total',
      help: 'DNS messages the helper’s nameserver answered or dropped, by outcome (no names are kept).',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        const d = dns();
        if (!d) return;
        for (const [outcome, n] of Object.entries(d.stats().outcomes)) this.inc({ outcome }, n);
      },
    });
  }

  private peersGauge(): void {
    const peers = () => this.peers();
    new Gauge({
      name: 'warren_peers',
      help: 'Peers configured in the data plane.',
      registers: [this.registry],
      collect() {
        this.set(peers().length);
      },
    });
  }
}
