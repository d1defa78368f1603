// warren-relay: forwards opaque WireGuard packets between two systems that cannot reach each
// other directly. Clients register with a token from their coordinator (src-shared/lib/relay-token.ts) signed by
// their machine key; the relay needs no database and no connection to the coordinator, only
// its public key and the key it shares with it (the tokens' MAC). Registrations are screened
// where they arrive and verified on a budget after forwarding (admission.ts). Wire format:
// src-shared/wire/nat-relay.ts. Payloads stay end-to-end encrypted by WireGuard; the relay sees
// peer ids and sizes, nothing else.
import type { KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import { NAT_HEADER_BYTES, NatKind, natKind } from '../../src-shared/wire/nat-wire.js';
import {
  parseRelayFrame,
  parseRelayProbe,
  RELAY_HEADER_BYTES,
  relayPayloadLength,
  relayProbeReply,
  UDP_MAX_PAYLOAD,
  udpMaxPayload,
  writeRelayHeader,
} from '../../src-shared/wire/nat-relay.js';
import { TCP_FRAME_PREFIX, tcpFrame } from '../../src-shared/wire/nat-tcp.js';
import type { Logger } from '../../src-shared/lib/log.js';
import { publicKeyFromRaw } from '../../src-shared/lib/ed25519.js';
import { DropCounters, type DropReason } from './drops.js';
import { Admission, type Admitted } from './admission.js';
import { NAT_KEY_BYTES } from '../../src-shared/lib/nat-keys.js';
import { RateLimiter } from '../../src-shared/lib/rate-limit.js';
import { idKey, SessionTable, udpKey, udpKeyOf, type ReplyFn, type Session, type UdpKey } from './sessions.js';
import { remoteIp, TcpConn, type TcpHost } from './tcp.js';
import {
  DEFAULT_RELAY_LIMITS,
  DEFAULT_RELAY_NAME,
  type RelayLimits,
  type RelayOptions,
  type RelayStats,
} from './options.js';

export {
  DEFAULT_RELAY_LIMITS,
  DEFAULT_RELAY_NAME,
  type RelayLimits,
  type RelayOptions,
  type RelayStats,
} from './options.js';

/** Relay is the transport-independent core; startRelay gives it sockets. */
export class Relay {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly limits: RelayLimits;
  private readonly sessions: SessionTable;
  private readonly admission: Admission;
  private readonly conns = new Set<TcpConn>();
  /** pending: connections that have not registered yet */
  private readonly pending = new Set<TcpConn>();
  private readonly drops = new DropCounters();
  private readonly tcpHost: TcpHost;
  private readonly sweeper: NodeJS.Timeout;
  private forwarded = 0;
  private closed = false;
  /** region: what probes are answered with ('' for none) */
  private readonly region: string;
  private readonly probesPerIp: RateLimiter;
  private readonly probesTotal: RateLimiter;

  constructor(opts: RelayOptions) {
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...opts.limits };
    // Imported once: parsing a raw key costs about as much as a verification.
    const coordinatorKey: KeyObject = publicKeyFromRaw(opts.coordinatorKey);
    if (opts.relayKey.length !== NAT_KEY_BYTES) throw new Error(`the relay key must be ${NAT_KEY_BYTES} bytes`);
    this.sessions = new SessionTable(this.limits.sessionIdleMs);
    this.admission = new Admission(
      { log: this.log, now: () => this.now(), drop: (r) => this.drop(r), bug: (e, w) => this.bug(e, w) },
      this.sessions,
      this.limits,
      { coordinatorKey, relayKey: Buffer.from(opts.relayKey) },
      opts.name ?? DEFAULT_RELAY_NAME,
    );
    this.tcpHost = {
      log: this.log,
      now: () => this.now(),
      drop: (r) => this.drop(r),
      register: (conn, frame) => this.tcpRegister(conn, frame),
      send: (conn, frame) => this.tcpSend(conn, frame),
      closed: (conn) => this.tcpClosed(conn),
    };
    this.region = opts.region ?? '';
    this.probesPerIp = new RateLimiter(
      this.limits.probePerIpPerSecond,
      this.limits.probeBurstPerIp,
      this.limits.maxRateSources,
    );
    this.probesTotal = new RateLimiter(this.limits.probePerSecond, this.limits.probePerSecond, 1);
    this.sweeper = setInterval(() => this.sweep(), this.limits.sweepIntervalMs);
    this.sweeper.unref();
  }

  /** handleDatagram handles one UDP datagram; reply(buf, ip, port) sends from the same socket. */
  handleDatagram(
    msg: Buffer,
    ip: string,
    port: number,
    reply: (buf: Uint8Array, ip: string, port: number) => void,
  ): void {
    if (this.closed) return;
    try {
      const kind = natKind(msg);
      if (kind === NatKind.relaySend) this.udpSend(msg, ip, port);
      else if (kind === NatKind.relayRegister) this.udpRegister(msg, ip, port, reply);
      else if (kind === NatKind.relayProbe) this.probe(msg, ip, port, reply);
      else this.drop(kind === null ? 'not-relay' : 'unexpected-kind');
    } catch (e) {
      this.bug(e, `udp from ${ip}:${port}`);
    }
  }

  /** attachTcp takes ownership of an accepted TCP socket. */
  attachTcp(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.limits.maxTcpConnections) {
      this.drop('tcp-limit');
      socket.destroy();
      return;
    }
    if (this.pending.size >= this.limits.maxPendingTcp) {
      this.drop('tcp-pending-limit');
      socket.destroy();
      return;
    }
    const ip = remoteIp(socket);
    if (ip === null) {
      // Already reset by the peer before we saw it.
      socket.destroy();
      return;
    }
    const conn = new TcpConn(socket, ip, this.tcpHost, this.limits);
    this.conns.add(conn);
    this.pending.add(conn);
  }

  stats(): RelayStats {
    return {
      sessions: this.sessions.size,
      tcpConnections: this.conns.size,
      forwarded: this.forwarded,
      registrationsWaiting: this.admission.waiting,
      dropped: this.drops.snapshot(),
    };
  }

  /** close drops sessions, destroys TCP sockets and clears timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.sessions.clear();
    for (const c of this.conns) c.close();
    this.conns.clear();
    this.pending.clear();
    this.admission.clear();
    this.probesPerIp.clear();
  }

  // probe answers a round-trip probe (helpers measure relays with it to use the nearest). It
  // costs a parse and a rate-limit lookup: no crypto, no state beyond the rate buckets. The
  // answer is shorter than the probe (RELAY_PROBE_BYTES), and each source address gets a few a
  // second, so a forged source cannot turn the relay into an amplifier or a flood of its own.
  private probe(msg: Buffer, ip: string, port: number, reply: ReplyFn): void {
    const nonce = parseRelayProbe(msg);
    if (nonce === null) {
      this.drop('malformed-probe');
      return;
    }
    const now = this.now();
    if (!this.probesPerIp.allow(ip, now) || !this.probesTotal.allow('', now)) {
      this.drop('probe-rate-limited');
      return;
    }
    this.udpOut(reply, relayProbeReply(nonce, this.region), ip, port);
  }

  private udpSend(msg: Buffer, ip: string, port: number): void {
    const now = this.now();
    const src = this.udpSource(udpKey(ip, port), now);
    if (src !== undefined) this.forward(src, msg, now);
  }

  // udpSource is the live session bound to ip:port (marked as seen now), or undefined after
  // counting the drop: only a registered address may send through the relay.
  private udpSource(key: UdpKey, now: number): Session | undefined {
    const src = this.sessions.fromAddr(key, now);
    if (src === undefined) this.drop('unknown-source');
    else src.lastSeen = now;
    return src;
  }

  private udpRegister(msg: Buffer, ip: string, port: number, reply: ReplyFn): void {
    this.admission.submit(msg, ip, (a) => this.udpAdmitted(a, ip, port, reply));
  }

  private udpAdmitted(a: Admitted | null, ip: string, port: number, reply: ReplyFn): void {
    if (a === null) return;
    if ('refusal' in a) {
      this.udpOut(reply, a.refusal, ip, port);
      return;
    }
    const s = a.session;
    const addr = `${ip}:${port}`;
    if (a.fresh || s.udp?.addr !== addr) {
      this.log.verbose(`relay: ${s.systemId} (${s.idHex}) ${a.fresh ? 'registered' : 'moved'} over udp from ${addr}`);
    }
    this.sessions.bindUdp(s, ip, port, reply);
    this.udpOut(reply, a.reply, ip, port);
  }

  private tcpRegister(conn: TcpConn, frame: Uint8Array): boolean {
    const queued = this.admission.submit(
      frame,
      conn.ip,
      (a) => this.tcpAdmitted(conn, a),
      () => conn.open,
    );
    // Dropped at once: an unregistered connection has shown nothing worth keeping it open for.
    return queued || conn.registered;
  }

  private tcpAdmitted(conn: TcpConn, a: Admitted | null): void {
    if (a === null) {
      // Silence, and for a connection that never registered, the end of it.
      if (!conn.registered) conn.close();
      return;
    }
    if ('refusal' in a) {
      if (conn.registered) conn.send(tcpFrame(a.refusal));
      else conn.refuse(tcpFrame(a.refusal));
      return;
    }
    const s = a.session;
    if (a.fresh || s.tcp !== conn) {
      this.log.verbose(
        `relay: ${s.systemId} (${s.idHex}) ${a.fresh ? 'registered' : 'moved'} over tcp from ${conn.ip}`,
      );
    }
    this.sessions.bindTcp(s, conn);
    conn.markRegistered();
    this.pending.delete(conn);
    conn.send(tcpFrame(a.reply));
  }

  private tcpSend(conn: TcpConn, frame: Uint8Array): void {
    const now = this.now();
    const src = conn.session;
    // Not live: its token ran out; the sweep removes it and closes the connection.
    if (src === null || !this.sessions.live(src, now)) {
      this.drop('unknown-source');
      return;
    }
    src.lastSeen = now;
    this.forward(src, frame, now);
  }

  private tcpClosed(conn: TcpConn): void {
    this.conns.delete(conn);
    this.pending.delete(conn);
    this.sessions.unlinkTcp(conn);
  }

  /**
   * forwardInPlace is the batched fast path for a relaySend in a native UDP batch (src-shared/lib/native/udp-socket.ts):
   * a frame for a UDP destination is turned into relayRecv where it lies (same header size) and
   * queued in out, to leave with the rest of the batch in one sendmmsg. Everything else goes
   * the ordinary way. It always takes the datagram (forwarded or counted as dropped).
   */
  forwardInPlace(
    buf: Buffer,
    off: number,
    len: number,
    addr: number,
    port: number,
    out: { add(off: number, len: number, addr: number, port: number): void },
  ): void {
    if (this.closed) return;
    const m = this.sessions.memo;
    const now = m.begin(this.now);
    const key = udpKeyOf(addr, port);
    const src = key === m.srcKey ? m.src! : this.udpSource(key, now);
    if (src === undefined) return;
    m.srcKey = key;
    m.src = src;
    // The same checks as forward's, without building a parsed frame per datagram.
    const ok = relayPayloadLength(buf, off, len, NatKind.relaySend) >= 0;
    const dst = ok ? m.destination(buf, off + NAT_HEADER_BYTES) : undefined;
    // Over the IPv4 limit only when it came over IPv6: the ordinary way drops and counts it.
    if (dst === undefined || dst === src || dst.udp === null || dst.udp.ipNum === 0 || len > UDP_MAX_PAYLOAD.v4) {
      this.forward(src, buf.subarray(off, off + len), now);
      return;
    }
    writeRelayHeader(buf, off, NatKind.relayRecv, src.id);
    out.add(off, len, dst.udp.ipNum, dst.udp.port);
    this.forwarded++;
  }

  /** forwardDone ends a batch of forwardInPlace calls: the next one looks everything up again. */
  forwardDone(): void {
    this.sessions.memo.clear();
  }

  /** forward sends a relaySend's payload to its destination as relayRecv from src. */
  private forward(src: Session, buf: Uint8Array, now: number): void {
    const f = parseRelayFrame(buf);
    if (f === null || f.kind !== 'send') {
      this.drop('malformed-send');
      return;
    }
    const dst = this.sessions.get(idKey(buf, 4), now);
    if (dst === undefined) {
      this.drop('unknown-destination');
      return;
    }
    if (dst === src) {
      this.drop('to-self');
      return;
    }
    const payload = buf.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength);
    const n = RELAY_HEADER_BYTES + payload.length;
    if (dst.udp !== null) {
      // A frame that came over TCP can be larger than one UDP datagram to this destination holds.
      if (n > udpMaxPayload(dst.udp.ip)) {
        this.drop('udp-too-big');
        return;
      }
      const out = Buffer.allocUnsafe(n);
      writeRelayHeader(out, 0, NatKind.relayRecv, src.id);
      out.set(payload, RELAY_HEADER_BYTES);
      if (this.udpOut(dst.udp.reply, out, dst.udp.ip, dst.udp.port)) this.forwarded++;
    } else if (dst.tcp !== null) {
      // One buffer with the length prefix: tcpFrame would copy the frame a second time.
      const out = Buffer.allocUnsafe(TCP_FRAME_PREFIX + n);
      out.writeUInt16BE(n, 0);
      writeRelayHeader(out, TCP_FRAME_PREFIX, NatKind.relayRecv, src.id);
      out.set(payload, TCP_FRAME_PREFIX + RELAY_HEADER_BYTES);
      if (dst.tcp.send(out)) this.forwarded++;
      else this.drop('tcp-backlog');
    } else {
      this.drop('unknown-destination');
    }
  }

  private udpOut(reply: ReplyFn, buf: Uint8Array, ip: string, port: number): boolean {
    try {
      reply(buf, ip, port);
      return true;
    } catch (e) {
      this.drop('send-error');
      this.log
        .rateLimited('relay-send-error', 10_000)
        .debug(`relay: udp send to ${ip}:${port}: ${(e as Error).message}`);
      return false;
    }
  }

  private sweep(): void {
    try {
      const now = this.now();
      // Connections first, so that an idle one is counted as such rather than closed
      // silently with its session.
      for (const c of this.conns) {
        if (c.registered && now - c.lastFrame > this.limits.tcpIdleMs) {
          this.drop('tcp-idle');
          c.close();
        }
      }
      const gone = this.sessions.sweep(now);
      if (gone > 0) this.log.debug(`relay: ${gone} sessions expired`);
      this.admission.sweep(now);
      this.probesPerIp.sweep(now);
    } catch (e) {
      this.bug(e, 'sweep');
    }
  }

  private drop(reason: DropReason): void {
    this.drops.add(reason);
    if (this.log.enabled('debug'))
      this.log.rateLimited(`relay-drop:${reason}`, 10_000).debug(`relay: dropped (${reason})`);
  }

  private bug(e: unknown, where: string): void {
    this.drops.add('internal-error');
    this.log.rateLimited('relay-bug', 10_000).error(`relay: ${where}: ${(e as Error)?.stack ?? String(e)}`);
  }
}
