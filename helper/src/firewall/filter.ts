// The stateful filter: DESIGN.md convention 3. Egress (adapter → peer) and
// ingress (peer → adapter) share one flow table. A packet of a tracked flow passes either way;
// anything else must start a flow that the rule set grants in its direction. A new rule set
// bumps the version; a flow checked against an older version is re-checked (its initiating
// direction against the new rules) on its next packet and by sweep(), and deleted, both ways at
// once, if it is no longer allowed. Verdicts are numbers (reasons.ts); nothing here allocates
// per packet or throws on packet content. IPv4 and IPv6 are judged alike: the parser gives both
// the same shape (parsed.ts), ICMPv6 is judged as ICMP, and flows of both families share the
// table and each peer's share of it.
import * as compiled from './compile.js';
import { checkNew, hasAny, type DirectionGrants, type PeerRules, type RuleSet } from './compile.js';
import * as conntrack from './conntrack.js';
import { EVICTIONS, FlowTable } from './conntrack.js';
import * as packet from './packet.js';
import * as reasons from './reasons.js';
import { LocalScope, ROUTED, type RoutePrefix } from './scope.js';
import { sweepFlows } from './sweep.js';
import type { IPv6 } from '../../../src-shared/lib/ip/ipv6.js';

// Local names: V8 folds a module's own consts into compiled code, but loads imported bindings.
const { PROTO } = compiled;
const { DIRECTION, FLOW_FLAG, FLOW_STATE, TIMEOUTS } = conntrack;
const { ADDR, ECHO, TCP, parsePacket } = packet;
const { DROP, PASS, REASONS } = reasons;

/**
 * NAMESERVER_PORT is where the helper's nameserver listens on the virtual address. It answers
 * with the names this system may reach, which is for this system alone (the in-agent
 * nameserver "can only be reached from that local system"): ingress to it is dropped here,
 * before policy, so no ACL, allow-all mode or tracked flow can open it to a peer.
 */
export const NAMESERVER_PORT = 53;

/** FirewallOptions: maxFlows bounds the flow table; clock is the default for sweep(). */
export interface FirewallOptions {
  maxFlows?: number;
  clock?: () => number;
}

const NONE = new Uint16Array(0);
const NO_GRANTS: DirectionGrants = { icmp: false, other: false, tcp: NONE, udp: NONE };

/** Firewall is the stateful filter one device uses for all its peers. */
export class Firewall {
  /** reasons maps a verdict code to its stable name. */
  readonly reasons: readonly string[] = REASONS;
  /** counters counts verdicts by code; counters[0] counts packets passed. */
  readonly counters = new Float64Array(REASONS.length);
  private readonly table: FlowTable;
  private readonly clock: () => number;
  private readonly pkt = new packet.ParsedPacket();
  // flowAddr holds a tracked flow's local (0) and remote (4) addresses while recheck looks at them.
  private readonly flowAddr = new Uint32Array(8);
  // live holds the slots sweep() visits, grown to the table's bound on first need.
  private live = new Int32Array(0);
  private rules: RuleSet | null = null;
  private ver = 1;
  /** scope holds this system's addresses, provided subnets and route grants. Route grants, when
   * set (coordinated mode), say which peers (by slot) may start traffic into which provided
   * subnets; without them static mode's rule holds: a peer that policy lets reach this system may
   * reach its subnets with the same ACLs. */
  private readonly scope = new LocalScope();

  constructor(opts: FirewallOptions = {}) {
    this.table = new FlowTable(opts.maxFlows ?? 65536);
    this.clock = opts.clock ?? Date.now;
  }

  /** setRules installs a new rule set; it applies to existing flows from their next packet. The
   * table's per-peer shares follow the number of peers in it. */
  setRules(rules: RuleSet): void {
    this.rules = rules;
    let peers = 0;
    for (const pr of rules.byIndex) if (pr !== undefined) peers++;
    this.table.setPeers(peers, rules.byIndex.length);
    this.ver = (this.ver + 1) >>> 0 || 1;
  }

  /**
   * setLocal names this system's virtual addresses (IPv4, and IPv6 if it has one) and the subnets
   * it provides as an exit node (either family). New flows must then start from this system's
   * address of their family (egress: a device in a provided subnet may answer but never start
   * traffic into the overlay) or go to it or a provided subnet (ingress: peers cannot use this
   * system as a router for anything else). Until setLocal, addresses are not checked; after it, a
   * family without an address here has no local address (its flows can only be routed ones).
   */
  setLocal(address: number, providedRoutes: readonly RoutePrefix[] = [], address6: IPv6 | null = null): void {
    this.scope.set(address, providedRoutes, address6);
    this.ver = (this.ver + 1) >>> 0 || 1;
  }

  /**
   * setRouteGrants installs the coordinator's route grants (peer slot → subnets), or null for
   * static mode. A granted sender may start any traffic into its granted subnets; policies keep
   * governing traffic to this system itself. Existing flows are re-checked.
   */
  setRouteGrants(grants: ReadonlyMap<number, readonly RoutePrefix[]> | null): void {
    this.scope.setGrants(grants);
    this.ver = (this.ver + 1) >>> 0 || 1;
  }

  /**
   * setRoutesVia installs the subnets this system reaches through each exit node (peer slot →
   * subnets) by the coordinator's route grants: the grant is the permission, so traffic this
   * system starts into them needs no policy to the exit node (whose own addresses stay closed
   * without one, nor do other overlay addresses). Empty in static mode, where policy decides.
   */
  setRoutesVia(via: ReadonlyMap<number, readonly RoutePrefix[]>, overlays: readonly RoutePrefix[] = []): void {
    this.scope.setVia(via, overlays);
    this.ver = (this.ver + 1) >>> 0 || 1;
  }

  /** currentRules is the rule set in force, or null before the first setRules. */
  get currentRules(): RuleSet | null {
    return this.rules;
  }

  /** version is bumped by every setRules. */
  get version(): number {
    return this.ver;
  }

  /** egress judges a packet read from the adapter on its way to peerIndex: 0 passes. */
  egress(peerIndex: number, buf: Uint8Array, off: number, len: number, now: number): number {
    return this.count(this.judge(DIRECTION.egress, peerIndex, buf, off, len, now));
  }

  /** ingress judges a packet decrypted from peerIndex on its way to the adapter: 0 passes. */
  ingress(peerIndex: number, buf: Uint8Array, off: number, len: number, now: number): number {
    return this.count(this.judge(DIRECTION.ingress, peerIndex, buf, off, len, now));
  }

  /** flows is the number of tracked flows. */
  flows(): number {
    return this.table.count;
  }

  /** flowsOf is the number of flows tracked with one peer. */
  flowsOf(peerIndex: number): number {
    return this.table.flowsOf(peerIndex >>> 0);
  }

  /** evictions counts flows pushed out to make room. */
  get evictions(): number {
    return this.table.evictions;
  }

  /** evictionCounters returns the non-zero eviction counts by reason name (peer-share,
   * table-full, probe-window), for status --json. */
  evictionCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    const e = this.table.evicted;
    for (let i = 0; i < e.length; i++) if (e[i]! > 0) out[EVICTIONS[i]!] = e[i]!;
    return out;
  }

  /** dropCounters returns the non-zero drop counters by reason name, for status --json. */
  dropCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < this.counters.length; i++) if (this.counters[i]! > 0) out[REASONS[i]!] = this.counters[i]!;
    return out;
  }

  /** sweep expires flows and re-checks those older than the rule set; the daemon calls it
   * every second so that a revoked flow is gone even if no packet of it arrives. */
  sweep(now: number = this.clock()): number {
    if (this.live.length < this.table.count) this.live = new Int32Array(this.table.maxFlows);
    return sweepFlows(this.table, this.live, now, (s) => this.table.version[s] !== this.ver && !this.recheck(s));
  }

  /** clearFlows forgets every flow (e.g. when the tunnel stops). */
  clearFlows(): void {
    this.table.clear();
  }

  private count(code: number): number {
    this.counters[code]!++;
    return code;
  }

  private judge(dir: number, peer: number, buf: Uint8Array, off: number, len: number, now: number): number {
    const rules = this.rules;
    if (rules === null) return DROP.noRules;
    const p = this.pkt;
    const parsed = parsePacket(buf, off, len, p);
    if (parsed !== PASS) return parsed;
    if (
      dir === DIRECTION.ingress &&
      p.dstPort === NAMESERVER_PORT &&
      (p.proto === PROTO.udp || p.proto === PROTO.tcp) &&
      this.scope.isOwn(p.addr, ADDR.dst)
    ) {
      return DROP.dnsFromPeer;
    }
    peer = peer >>> 0;
    const pr = rules.byIndex[peer];
    const g = pr === undefined ? NO_GRANTS : dir === DIRECTION.egress ? pr.egress : pr.ingress;
    const eg = dir === DIRECTION.egress;
    // PROTO.icmp is ICMP of the packet's family (ICMPv6 for IPv6: parsed.ts).
    if (p.proto === PROTO.icmp) {
      if (p.isError) return this.icmpError(dir, peer, now);
      if (p.echo === ECHO.none) return this.stateless(g, dir);
    }
    const ports = eg ? (p.srcPort << 16) | p.dstPort : (p.dstPort << 16) | p.srcPort;
    const t = this.table;
    const a = p.addr;
    const lo = localAt(dir);
    const ro = remoteAt(dir);
    // The family picks the lookup; an IPv4 key is its addresses' last words (flow-key.ts).
    let s =
      p.family === 4
        ? t.find4(peer, a[lo + 3]!, a[ro + 3]!, ports >>> 0, p.proto)
        : t.find6(peer, a, lo, ro, ports >>> 0, p.proto);
    if (s >= 0 && t.expires[s]! <= now) {
      t.remove(s);
      s = -1;
    }
    if (s >= 0 && t.version[s] !== this.ver) {
      if (!this.recheck(s)) {
        t.remove(s);
        return DROP.policyRevoked;
      }
    }
    if (s >= 0) return this.known(s, dir, g, now);
    return this.start(dir, peer, ports >>> 0, g, now);
  }

  // known handles a packet of a tracked flow.
  private known(s: number, dir: number, g: DirectionGrants, now: number): number {
    const t = this.table;
    const p = this.pkt;
    const fromInitiator = t.initiator[s] === dir;
    t.lastSeen[s] = now;
    if (!fromInitiator && !(t.flags[s]! & FLOW_FLAG.replied)) t.markReplied(s);
    switch (t.state[s]) {
      case FLOW_STATE.icmpEcho:
        // The same identifier used the other way is a new conversation, judged by policy.
        if (p.echo === ECHO.request && !fromInitiator) return this.stateless(g, dir);
        if (p.echo === ECHO.reply && fromInitiator) return DROP.icmpNoFlow;
        t.expires[s] = now + TIMEOUTS.icmpEcho;
        return PASS;
      case FLOW_STATE.udp:
      case FLOW_STATE.other:
        t.expires[s] = now + (t.flags[s]! & FLOW_FLAG.replied ? TIMEOUTS.udpReplied : TIMEOUTS.udpNew);
        return PASS;
    }
    return this.tcp(s, fromInitiator, dir, g, now);
  }

  // tcp advances a tracked TCP flow (RFC 793 §3.2 states, simplified as Linux conntrack does).
  private tcp(s: number, fromInitiator: boolean, dir: number, g: DirectionGrants, now: number): number {
    const t = this.table;
    const f = this.pkt.tcpFlags;
    if (f & TCP.syn && f & (TCP.rst | TCP.fin)) return DROP.tcpBadFlags;
    if (f & TCP.rst) {
      t.remove(s);
      return PASS;
    }
    let st = t.state[s]!;
    if (f & TCP.syn && !(f & TCP.ack) && st === FLOW_STATE.tcpClosing) {
      // The port pair is being reused for a new connection: judge it afresh (the packet has the
      // flow's key).
      const peer = t.kPeer[s]!;
      const ports = t.kPorts[s]!;
      t.remove(s);
      return this.start(dir, peer, ports, g, now);
    }
    if (st === FLOW_STATE.tcpSynSent && !fromInitiator && f & TCP.syn && f & TCP.ack) st = FLOW_STATE.tcpSynReceived;
    else if (st === FLOW_STATE.tcpSynReceived && fromInitiator && f & TCP.ack && !(f & TCP.syn))
      st = FLOW_STATE.tcpEstablished;
    if (f & TCP.fin) {
      t.flags[s]! |= fromInitiator ? FLOW_FLAG.finFromInitiator : FLOW_FLAG.finFromResponder;
      if ((t.flags[s]! & 3) === 3) st = FLOW_STATE.tcpClosing;
    }
    t.state[s] = st;
    // A picked-up flow keeps the handshake timeout until the other side answers: a stray or
    // stale segment must not hold a slot for hours.
    t.expires[s] =
      now +
      (st === FLOW_STATE.tcpEstablished &&
      (t.flags[s]! & (FLOW_FLAG.pickedUp | FLOW_FLAG.replied)) !== FLOW_FLAG.pickedUp
        ? TIMEOUTS.tcpEstablished
        : st === FLOW_STATE.tcpClosing
          ? TIMEOUTS.tcpClosing
          : TIMEOUTS.tcpHandshake);
    return PASS;
  }

  // start judges the packet in this.pkt, which belongs to no flow, and tracks it if it may
  // start one.
  private start(dir: number, peer: number, ports: number, g: DirectionGrants, now: number): number {
    const p = this.pkt;
    const lo = localAt(dir);
    const where = this.scope.admit(dir === DIRECTION.egress, peer, p.addr, lo, remoteAt(dir));
    if (where !== PASS && where !== ROUTED) return where;
    const routed = where === ROUTED;
    if (!routed && !hasAny(g)) return dir === DIRECTION.egress ? DROP.noPolicyEgress : DROP.noPolicyIngress;
    let state: number = FLOW_STATE.other;
    let timeout: number = TIMEOUTS.udpNew;
    let pickup = false;
    if (p.proto === PROTO.tcp) {
      const f = p.tcpFlags;
      if (f & TCP.syn && f & (TCP.rst | TCP.fin)) return DROP.tcpBadFlags;
      // A connection older than the flow table (the helper restarted, or its flow was evicted) is
      // picked up mid-stream, as netfilter's nf_conntrack_tcp_loose does, from a segment a
      // synchronised connection sends (ACK set, no SYN or RST: RFC 9293 §3.10.7.4). The segment's
      // sender counts as the initiator, so the pickup is judged like a SYN from that side and a
      // peer cannot pick up what policy only lets this system start (nor reach any port by
      // sending from a port this system may reach).
      pickup = (f & (TCP.syn | TCP.rst | TCP.ack)) === TCP.ack;
      if (!pickup && (f & (TCP.syn | TCP.ack)) !== TCP.syn) return DROP.tcpNotSyn;
      state = pickup ? FLOW_STATE.tcpEstablished : FLOW_STATE.tcpSynSent;
      timeout = TIMEOUTS.tcpHandshake;
    } else if (p.proto === PROTO.udp) {
      state = FLOW_STATE.udp;
    } else if (p.proto === PROTO.icmp) {
      if (p.echo === ECHO.reply) return DROP.icmpNoFlow;
      state = FLOW_STATE.icmpEcho;
      timeout = TIMEOUTS.icmpEcho;
    }
    const code = routed ? PASS : checkNew(g, p.proto, p.dstPort);
    // A segment that may not be picked up is dropped as it always was: no flow and not a SYN.
    if (code !== PASS) return pickup ? DROP.tcpNotSyn : code;
    const t = this.table;
    const s = t.insert(peer, p.addr, lo, remoteAt(dir), ports, p.proto, state, now);
    if (s < 0) return DROP.conntrackFull;
    t.initiator[s] = dir;
    if (pickup) t.flags[s] = FLOW_FLAG.pickedUp;
    t.version[s] = this.ver;
    t.expires[s] = now + timeout;
    return PASS;
  }

  // stateless judges ICMP or ICMPv6 that is neither echo nor an error (timestamps, node
  // information queries and the like): it passes where policy grants ICMP in its direction, and
  // starts no flow.
  private stateless(g: DirectionGrants, dir: number): number {
    if (!hasAny(g)) return dir === DIRECTION.egress ? DROP.noPolicyEgress : DROP.noPolicyIngress;
    return checkNew(g, PROTO.icmp, 0);
  }

  // icmpError passes an ICMP error only if the datagram it quotes belongs to a tracked flow. The
  // quoted datagram went the other way: on ingress we sent it (its source is local).
  private icmpError(dir: number, peer: number, now: number): number {
    const p = this.pkt;
    const eg = dir === DIRECTION.egress;
    const lo = eg ? ADDR.innerDst : ADDR.innerSrc;
    const ro = eg ? ADDR.innerSrc : ADDR.innerDst;
    const ports = eg ? (p.innerDstPort << 16) | p.innerSrcPort : (p.innerSrcPort << 16) | p.innerDstPort;
    const t = this.table;
    const s = t.find(peer, p.addr, lo, ro, ports >>> 0, p.innerProto);
    if (s < 0 || t.expires[s]! <= now) return DROP.icmpErrorNoFlow;
    if (t.version[s] !== this.ver && !this.recheck(s)) {
      t.remove(s);
      return DROP.policyRevoked;
    }
    return PASS;
  }

  // recheck asks the current rules whether flow s may still exist, and stamps it if so.
  private recheck(s: number): boolean {
    const t = this.table;
    const egress = t.initiator[s] === DIRECTION.egress;
    t.addresses(s, this.flowAddr, 0);
    // A routed flow lives by its route grant (and the subnet still provided or routed).
    const where = this.scope.admit(egress, t.kPeer[s]!, this.flowAddr, 0, 4);
    if (where === ROUTED) t.version[s] = this.ver;
    if (where !== PASS) return where === ROUTED;
    const pr = this.rules?.byIndex[t.kPeer[s]!];
    if (pr === undefined) return false;
    // A flow picked up mid-stream may have been started by either side.
    const proto = t.kProto[s]! & 0xff; // without the family bit (flow-key.ts)
    const ok =
      allowedFrom(pr, egress, t.kPorts[s]!, proto) ||
      ((t.flags[s]! & FLOW_FLAG.pickedUp) !== 0 && allowedFrom(pr, !egress, t.kPorts[s]!, proto));
    if (ok) t.version[s] = this.ver;
    return ok;
  }
}

// localAt and remoteAt are where a packet going in direction dir has its local and remote
// addresses in ParsedPacket.addr.
function localAt(dir: number): number {
  return dir === DIRECTION.egress ? ADDR.src : ADDR.dst;
}
function remoteAt(dir: number): number {
  return dir === DIRECTION.egress ? ADDR.dst : ADDR.src;
}

// allowedFrom tells whether a flow with these ports could start in a direction. The responder's
// port is the remote one for a flow we start, the local one for a flow the peer starts.
function allowedFrom(pr: PeerRules, egress: boolean, ports: number, proto: number): boolean {
  const g = egress ? pr.egress : pr.ingress;
  return hasAny(g) && checkNew(g, proto, egress ? ports & 0xffff : ports >>> 16) === PASS;
}
