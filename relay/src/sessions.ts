// The relay's session table: one session per peer id (the first 8 bytes of a WireGuard key),
// each bound to exactly one way back to its owner, a UDP address or a TCP connection. An
// address or connection carries at most one session, and the latest registration wins: a
// client that roams or switches transport simply registers again from where it is now.
import type { KeyObject } from 'node:crypto';
import { parseIPv4 } from '../../src-shared/lib/ip/ipv4.js';

/** ReplyFn sends a datagram from the socket the relay's UDP traffic arrives on. */
export type ReplyFn = (buf: Uint8Array, ip: string, port: number) => void;

/** TcpLink is a session's TCP connection as the table sees it (tcp.ts implements it). */
export interface TcpLink {
  session: Session | null;
  /** send queues bytes that already carry their length prefix; false if they were dropped. */
  send(bytes: Uint8Array): boolean;
  close(): void;
}

/** UdpBinding is where a UDP session's packets go. */
export interface UdpBinding {
  /** addr is the binding's key in the table (udpKey) */
  addr: UdpKey;
  ip: string;
  /** ipNum is ip as a host-order number (0 when it is not IPv4), for batched sends */
  ipNum: number;
  port: number;
  reply: ReplyFn;
}

/** Session is one registered peer. */
export interface Session {
  /** key: the 8 id bytes as a latin1 string (cheaper to build per packet than hex) */
  key: string;
  id: Buffer;
  idHex: string;
  systemId: string;
  wireguardKey: Buffer;
  machineKey: KeyObject;
  /** token: the verified token bytes; a refresh with the same bytes skips the coordinator check */
  token: Buffer;
  tokenExpires: number;
  /** lastSeen: the last register or send from this session (wall-clock ms) */
  lastSeen: number;
  udp: UdpBinding | null;
  tcp: TcpLink | null;
}

// ipv4Number is an address as a host-order number (an IPv4-mapped IPv6 one too), 0 if it is
// not IPv4.
function ipv4Number(ip: string): number {
  return parseIPv4(ip.startsWith('::ffff:') ? ip.slice(7) : ip) ?? 0;
}

/** UdpKey names a UDP address in the table: a number for IPv4 (no string is built per packet
 * on the batched path), "ip:port" otherwise. */
export type UdpKey = number | string;

/** udpKey is the table key of ip:port. */
export function udpKey(ip: string, port: number): UdpKey {
  const n = ipv4Number(ip);
  return n !== 0 ? udpKeyOf(n, port) : `${ip}:${port}`;
}

/** udpKeyOf is the key of a host-order IPv4 address and port. */
export function udpKeyOf(addr: number, port: number): number {
  return addr * 65536 + port;
}

/** idKey reads 8 id bytes at off as a map key. */
export function idKey(buf: Uint8Array, off: number): string {
  return String.fromCharCode(
    buf[off]!,
    buf[off + 1]!,
    buf[off + 2]!,
    buf[off + 3]!,
    buf[off + 4]!,
    buf[off + 5]!,
    buf[off + 6]!,
    buf[off + 7]!,
  );
}

/**
 * BatchMemo is forwardInPlace's memory within one batch. A GRO'd burst is many frames from one
 * source to one destination, so the last source and destination resolved, and the batch's
 * time, are kept and matched by their keys: no clock read, id string or map lookups for the
 * frames after the first. It holds until the batch ends (Relay.forwardDone), the session
 * table changes (SessionTable.gen), or it has served MEMO_USES frames.
 */
export class BatchMemo {
  constructor(private readonly table: SessionTable) {}

  gen = -1;
  uses = 0;
  now = 0;
  srcKey = -1;
  src: Session | undefined = undefined;
  dstHead = 0;
  dstTail = 0;
  dst: Session | undefined = undefined;

  clear(): void {
    this.gen = -1;
    this.srcKey = -1;
    this.src = undefined;
    this.dst = undefined;
  }

  /** begin returns the batch's time, forgetting everything first if the memo no longer holds. */
  begin(clock: () => number): number {
    if (this.gen !== this.table.gen || ++this.uses > MEMO_USES) {
      this.clear();
      this.gen = this.table.gen;
      this.uses = 1;
      this.now = clock();
    }
    return this.now;
  }

  /** destination is the live session of the peer id at buf[at, at+8): the last one's if it is
   * the same id, else the table's. */
  destination(buf: Buffer, at: number): Session | undefined {
    const head = buf.readUInt32BE(at);
    const tail = buf.readUInt32BE(at + 4);
    if (this.dst !== undefined && head === this.dstHead && tail === this.dstTail) return this.dst;
    this.dst = this.table.get(idKey(buf, at), this.now);
    this.dstHead = head;
    this.dstTail = tail;
    return this.dst;
  }
}

/** MEMO_USES bounds a BatchMemo to one reader batch's worth of frames (MAX_BATCH), should the
 * end of a batch not be reported. */
const MEMO_USES = 128;

/** SessionTable indexes sessions by id and by UDP address; expired ones vanish on lookup. */
export class SessionTable {
  private readonly byId = new Map<string, Session>();
  private readonly byAddr = new Map<UdpKey, Session>();
  /** gen changes whenever a session is added, bound or removed (BatchMemo). */
  gen = 0;
  /** memo is the in-place forwarding's memory of one batch. */
  readonly memo = new BatchMemo(this);

  constructor(private readonly idleMs: number) {}

  get size(): number {
    return this.byId.size;
  }

  /** live: seen within the idle time, and the coordinator's token still holds. */
  live(s: Session, now: number): boolean {
    return now - s.lastSeen <= this.idleMs && s.tokenExpires > now;
  }

  /** get returns the live session with this id key, removing it if it has expired. */
  get(key: string, now: number): Session | undefined {
    const s = this.byId.get(key);
    if (s === undefined) return undefined;
    if (this.live(s, now)) return s;
    this.remove(s);
    return undefined;
  }

  /** fromAddr returns the live session bound to a UDP address (udpKey). */
  fromAddr(addr: UdpKey, now: number): Session | undefined {
    const s = this.byAddr.get(addr);
    if (s === undefined) return undefined;
    if (this.live(s, now)) return s;
    this.remove(s);
    return undefined;
  }

  /** add puts a new session in the table (unbound until bindUdp or bindTcp). */
  add(s: Session): void {
    this.gen++;
    this.byId.set(s.key, s);
  }

  /** bindUdp moves s to a UDP address; whatever held that address before is removed. */
  bindUdp(s: Session, ip: string, port: number, reply: ReplyFn): void {
    this.gen++;
    const addr = udpKey(ip, port);
    const holder = this.byAddr.get(addr);
    if (holder !== undefined && holder !== s) this.remove(holder);
    if (s.udp !== null && s.udp.addr !== addr) this.byAddr.delete(s.udp.addr);
    this.closeTcp(s);
    s.udp = { addr, ip, ipNum: ipv4Number(ip), port, reply };
    this.byAddr.set(addr, s);
  }

  /** bindTcp moves s to a TCP connection; a session that held the connection is removed. */
  bindTcp(s: Session, link: TcpLink): void {
    this.gen++;
    const holder = link.session;
    if (holder !== null && holder !== s) {
      // Detach first so that removing the old session does not close this connection.
      holder.tcp = null;
      link.session = null;
      this.remove(holder);
    }
    if (s.tcp !== link) this.closeTcp(s);
    if (s.udp !== null) {
      this.byAddr.delete(s.udp.addr);
      s.udp = null;
    }
    s.tcp = link;
    link.session = s;
  }

  /** unlinkTcp forgets a connection that closed; its session has no way back, so it goes. */
  unlinkTcp(link: TcpLink): void {
    const s = link.session;
    link.session = null;
    if (s !== null && s.tcp === link) {
      s.tcp = null;
      this.remove(s);
    }
  }

  /** remove deletes s and its bindings, closing its TCP connection. */
  remove(s: Session): void {
    this.gen++;
    if (this.byId.get(s.key) === s) this.byId.delete(s.key);
    if (s.udp !== null) {
      if (this.byAddr.get(s.udp.addr) === s) this.byAddr.delete(s.udp.addr);
      s.udp = null;
    }
    this.closeTcp(s);
  }

  /** sweep removes every expired session and returns how many went. */
  sweep(now: number): number {
    let n = 0;
    for (const s of this.byId.values()) {
      if (!this.live(s, now)) {
        this.remove(s);
        n++;
      }
    }
    return n;
  }

  /** clear removes everything (closing TCP connections). */
  clear(): void {
    this.gen++;
    for (const s of [...this.byId.values()]) this.remove(s);
    this.byAddr.clear();
  }

  private closeTcp(s: Session): void {
    const link = s.tcp;
    if (link === null) return;
    s.tcp = null;
    if (link.session === s) link.session = null;
    link.close();
  }
}
