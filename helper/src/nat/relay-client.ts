// RelayClient keeps this helper registered with one relay: over UDP from the WireGuard socket
// when it can (the relay then sees the same NAT mapping as WireGuard traffic), over TCP when
// UDP gets no answer (networks that block UDP). Registrations carry the coordinator's token for
// this relay (MACed with the key the two share) and are signed with the machine key; they are
// repeated every refresh interval, which also keeps the NAT mapping towards the relay open.
// While on TCP it keeps trying UDP now and then.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { NAT_LIMITS, NatKind, natKind, signedBytes, withSignature } from '../../../src-shared/wire/nat-wire.js';
import {
  RELAY_HEADER_BYTES,
  relayRegisterContext,
  parseRelayRefused,
  parseRelayRegistered,
  relayRegisterBody,
  UDP_MAX_PAYLOAD,
  writeRelayHeader,
} from '../../../src-shared/wire/nat-relay.js';
import { TcpFrameReader, tcpFrame } from '../../../src-shared/wire/nat-tcp.js';
import type { RelayInfo } from '../../../src-shared/wire/control.js';
import { privateKeyFromSeed, signEd25519 } from '../../../src-shared/lib/ed25519.js';
import { formatIp, ipEquals, type IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { wordsEqual, writeWordsAddress } from '../../../src-shared/lib/ip/words.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { measuredWay, type RttEstimate } from './relay-choice.js';
import { RelayProber } from './relay-probe.js';
import { RelayQueue, type SendBatch } from './relay-queue.js';

/** How long to wait for a UDP registration to be answered, and how many tries before TCP. */
const UDP_RETRY_MS = 1500;
const UDP_TRIES_BEFORE_TCP = 3;
/** While on TCP (or failed), try UDP again this often. */
const UDP_RECHECK_MS = 30_000;
const TCP_RETRY_MS = 5000;
const TCP_MAX_BACKLOG = 1 << 20;
const TOKEN_RETRY_MS = 5000;
/** A token no registration has been answered with for this long is fetched anew (the relay's
 * key may have changed, which makes the relay drop it without a word). */
const TOKEN_STALE_MS = 600_000;
export interface RelayClientOptions {
  info: RelayInfo;
  /** index is the relay's place in the map (its virtual endpoints are 0.0.0.(index+1)). */
  index: number;
  /** sendUdp sends from the WireGuard socket (real addresses only). */
  sendUdp(buf: Buffer, addr: IpAddress, port: number): boolean;
  /** sendUdpBatch sends datagrams i < count from the WireGuard socket in one call. */
  sendUdpBatch: SendBatch;
  /** token returns a current token for this relay (the caller caches it; renew asks for a new one). */
  token(renew: boolean): Promise<Buffer>;
  machineSeed: Buffer;
  /** deliverTcp gets a relayRecv frame (or a disco message inside one) that came over TCP. */
  deliverTcp(frame: Buffer): void;
  log: Logger;
  changed(): void;
  /** rtt carries the round-trip estimate over from the same relay in the previous map */
  rtt?: RttEstimate;
}

export type RelayTransport = 'udp' | 'tcp' | null;

/** RelayTarget is a relay's UDP or TCP address (either family), its words kept for the data path. */
interface RelayTarget {
  addr: IpAddress;
  words: Uint32Array;
  port: number;
  text: string;
}

function splitEndpoint(s: string | undefined): RelayTarget | null {
  const e = s === undefined ? null : parseIpEndpoint(s);
  if (e === null) return null;
  const words = new Uint32Array(4);
  writeWordsAddress(words, 0, e.addr);
  return { addr: e.addr, words, port: e.port, text: s! };
}

export class RelayClient {
  readonly udp: RelayTarget | null;
  readonly tcpTarget: RelayTarget | null;
  /** probe measures the relay's round trip over UDP (null for a TCP-only relay) */
  readonly probe: RelayProber | null;
  /** life counts the times this relay came back from the dead (RelaySet avoids per life) */
  life = 0;
  private readonly signer;
  private token: Buffer | null = null;
  private tokenAt = 0;
  private renewToken = false;
  /** answeredAt: when this relay last answered a registration (registered or refused) */
  private answeredAt = 0;
  private fetching = false;
  private tokenRetryAt = 0;
  private udpNonce: Buffer | null = null;
  private udpSentAt = 0;
  private udpTries = 0;
  private udpAckAt = 0;
  private refreshMs = 25_000;
  private nextUdp = 0;
  private tcp: Socket | null = null;
  private tcpReady = false;
  private tcpNextTry = 0;
  private tcpNonce: Buffer | null = null;
  private tcpRegisteredAt = 0;
  private lastError: string | null = null;
  private closed = false;
  /** queue gathers a batch's UDP frames (null for a TCP-only relay) */
  private readonly queue: RelayQueue | null;

  constructor(private readonly o: RelayClientOptions) {
    this.udp = splitEndpoint(o.info.udp);
    this.tcpTarget = splitEndpoint(o.info.tcp);
    this.queue = this.udp && new RelayQueue(o.sendUdpBatch, this.udp.words, this.udp.port);
    this.signer = privateKeyFromSeed(o.machineSeed);
    this.probe =
      this.udp && new RelayProber({ ...o, name: o.info.name, ...this.udp, revived: () => this.reregister() });
  }

  // reregister: a relay back from the dead may have restarted without our session; re-register.
  private reregister(): void {
    this.life++;
    this.udpAckAt = 0;
    this.udpTries = 0;
    this.nextUdp = 0;
  }

  get info(): RelayInfo {
    return this.o.info;
  }

  /** usable: registered, and over UDP, still answering probes if it ever did (measuredWay) */
  get usable(): boolean {
    return measuredWay(this.transport, this.probe?.rtt ?? null).usable;
  }

  /** srtt: its probes' smoothed round trip while they measure the way packets go (measuredWay) */
  get srtt(): number | null {
    return measuredWay(this.transport, this.probe?.rtt ?? null).srtt;
  }

  get name(): string {
    return this.o.info.name;
  }

  /** transport is how packets go to this relay now, or null if it cannot be used yet. */
  get transport(): RelayTransport {
    const now = Date.now();
    if (this.udp && this.udpAckAt > 0 && now - this.udpAckAt < this.refreshMs * 2 + 5000) return 'udp';
    if (this.tcpReady) return 'tcp';
    return null;
  }

  get error(): string | null {
    return this.lastError;
  }

  /** isRelayAddress tells whether a datagram came from this relay's UDP port. */
  isRelayAddress(addr: IpAddress, port: number): boolean {
    return this.udp !== null && this.udp.port === port && ipEquals(this.udp.addr, addr);
  }

  /** isRelayWords is isRelayAddress for the address at words[at], without allocating. */
  isRelayWords(words: Uint32Array, at: number, port: number): boolean {
    return this.udp !== null && this.udp.port === port && wordsEqual(this.udp.words, 0, words, at);
  }

  tick(now: number): void {
    if (this.closed) return;
    this.probe?.tick(now);
    if (this.token !== null && now - Math.max(this.tokenAt, this.answeredAt) > TOKEN_STALE_MS) {
      this.token = null;
      this.renewToken = true;
    }
    if (this.token === null) {
      this.fetchToken();
      return;
    }
    if (this.udp && now >= this.nextUdp) {
      const answered = this.udpAckAt >= this.udpSentAt && this.udpAckAt > 0;
      this.udpTries = answered ? 0 : this.udpTries + 1;
      this.sendUdpRegister(now);
      const onUdp = this.transport === 'udp';
      this.nextUdp =
        now + (onUdp ? this.refreshMs : this.udpTries >= UDP_TRIES_BEFORE_TCP ? UDP_RECHECK_MS : UDP_RETRY_MS);
    }
    const udpFailing = !this.udp || (this.transport !== 'udp' && this.udpTries >= UDP_TRIES_BEFORE_TCP);
    if (udpFailing && this.tcpTarget && this.tcp === null && now >= this.tcpNextTry) this.openTcp(now);
    if (this.transport === 'udp' && this.tcp !== null && now - this.udpAckAt < 1000) {
      this.o.log.info(`relay ${this.name}: UDP works again; closing the TCP connection`);
      this.closeTcp();
    }
    if (this.tcpReady && now - this.tcpRegisteredAt >= this.refreshMs) this.sendTcpRegister(now);
  }

  private fetchToken(): void {
    // A coordinator that refuses or cannot be reached is asked again every few seconds, not on
    // every tick.
    if (this.fetching || Date.now() < this.tokenRetryAt) return;
    this.fetching = true;
    this.o
      .token(this.renewToken)
      .then(
        (t) => {
          this.token = t;
          this.tokenAt = Date.now();
          this.renewToken = false;
          this.nextUdp = 0;
        },
        (e: Error) => {
          this.tokenRetryAt = Date.now() + TOKEN_RETRY_MS;
          this.setError(`no relay token: ${e.message}`);
        },
      )
      .finally(() => {
        this.fetching = false;
      });
  }

  private registerFrame(now: number): { frame: Buffer; nonce: Buffer } {
    const nonce = randomBytes(16);
    const body = relayRegisterBody(this.token!, now, nonce);
    const sig = signEd25519(this.signer, signedBytes(relayRegisterContext(this.o.info.name), body));
    return { frame: Buffer.from(withSignature(body, sig)), nonce };
  }

  private sendUdpRegister(now: number): void {
    const { frame, nonce } = this.registerFrame(now);
    this.udpNonce = nonce;
    this.udpSentAt = now;
    this.o.sendUdp(frame, this.udp!.addr, this.udp!.port);
  }

  /** onUdpControl takes a registered/refused answer that came from this relay's UDP port. */
  onUdpControl(msg: Buffer): void {
    const kind = natKind(msg);
    if (kind === NatKind.relayRegistered) {
      const r = parseRelayRegistered(msg);
      if (r === null || this.udpNonce === null || !Buffer.from(r.nonce).equals(this.udpNonce)) return;
      const was = this.transport;
      this.udpAckAt = Date.now();
      this.answeredAt = this.udpAckAt;
      this.udpTries = 0;
      this.refreshMs = Math.max(5, Math.min(r.refreshSeconds, 120)) * 1000;
      this.nextUdp = this.udpAckAt + this.refreshMs;
      this.lastError = null;
      if (was !== 'udp') {
        this.o.log.info(`relay ${this.name}: registered over UDP (${this.udp!.text})`);
        this.o.changed();
      }
    } else if (kind === NatKind.relayRefused) {
      const r = parseRelayRefused(msg);
      if (r === null || this.udpNonce === null || !Buffer.from(r.nonce).equals(this.udpNonce)) return;
      this.refused(r.reason);
    }
  }

  private refused(reason: string): void {
    this.answeredAt = Date.now();
    this.setError(`refused: ${reason}`);
    // An expired token is renewed; anything else is retried on the slow schedule.
    if (/expired/i.test(reason)) {
      this.token = null;
      this.renewToken = true;
    }
  }

  private setError(msg: string): void {
    if (msg !== this.lastError) this.o.log.warn(`relay ${this.name}: ${msg}`);
    this.lastError = msg;
  }

  private openTcp(now: number): void {
    const t = this.tcpTarget!;
    this.tcpNextTry = now + TCP_RETRY_MS;
    const reader = new TcpFrameReader();
    const sock = connect({ host: formatIp(t.addr), port: t.port });
    this.tcp = sock;
    sock.setNoDelay(true);
    sock.setTimeout(120_000, () => sock.destroy(new Error('idle for two minutes')));
    sock.on('connect', () => this.sendTcpRegister(Date.now()));
    sock.on('data', (chunk: Buffer) => {
      const frames = reader.push(chunk);
      if (frames === null) {
        sock.destroy(new Error('the relay sent a malformed stream'));
        return;
      }
      for (const f of frames) this.onTcpFrame(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    });
    sock.on('error', (e) => this.setError(`TCP ${t.text}: ${e.message}`));
    sock.on('close', () => {
      if (this.tcp !== sock) return;
      const was = this.tcpReady;
      this.tcp = null;
      this.tcpReady = false;
      if (was) this.o.changed();
    });
  }

  private sendTcpRegister(now: number): void {
    if (this.tcp === null || this.token === null) return;
    const { frame, nonce } = this.registerFrame(now);
    this.tcpNonce = nonce;
    this.tcpRegisteredAt = now;
    this.tcp.write(tcpFrame(frame));
  }

  private onTcpFrame(f: Buffer): void {
    const kind = natKind(f);
    if (kind === NatKind.relayRecv) {
      this.o.deliverTcp(f);
    } else if (kind === NatKind.relayRegistered) {
      const r = parseRelayRegistered(f);
      if (r === null || this.tcpNonce === null || !Buffer.from(r.nonce).equals(this.tcpNonce)) return;
      this.refreshMs = Math.max(5, Math.min(r.refreshSeconds, 120)) * 1000;
      this.tcpRegisteredAt = Date.now();
      this.answeredAt = this.tcpRegisteredAt;
      if (!this.tcpReady) {
        this.tcpReady = true;
        this.lastError = null;
        this.o.log.info(`relay ${this.name}: registered over TCP (${this.tcpTarget!.text}); UDP to it gets no answer`);
        this.o.changed();
      }
    } else if (kind === NatKind.relayRefused) {
      const r = parseRelayRefused(f);
      if (r !== null) this.refused(r.reason);
      this.tcp?.destroy();
    }
  }

  /**
   * send wraps a WireGuard (or disco) message for peer id and sends it to the relay. Over UDP a
   * deferred send only queues the frame; flush sends the queue with one sendmmsg (the device's
   * batches stay batches on a relayed path too). room is how many bytes before off the caller
   * leaves free (Bind.sendBatch's headroom): the header then goes there (RelayQueue.add).
   */
  send(id: Uint8Array, buf: Buffer, off: number, len: number, deferred = false, room = 0): boolean {
    const q = this.queue;
    const t = q !== null && q.count > 0 ? 'udp' : this.transport; // queued frames went by UDP just now
    if (t === null || len > NAT_LIMITS.relayPayloadBytes) return false;
    if (t === 'udp') {
      // Larger than one datagram to the relay can carry (UDP_MAX_PAYLOAD): it would fail in sendmmsg.
      if (RELAY_HEADER_BYTES + len > UDP_MAX_PAYLOAD[this.udp!.addr.family === 4 ? 'v4' : 'v6']) return false;
      q!.add(id, buf, off, len, room);
      if (!deferred) q!.flush();
      return true;
    }
    if (this.tcp === null || this.tcp.writableLength > TCP_MAX_BACKLOG) return false;
    const frame = Buffer.allocUnsafe(RELAY_HEADER_BYTES + len);
    writeRelayHeader(frame, 0, NatKind.relaySend, id);
    buf.copy(frame, RELAY_HEADER_BYTES, off, off + len);
    this.tcp.write(tcpFrame(frame));
    return true;
  }

  /** flush sends the queued UDP frames. */
  flush(): void {
    this.queue?.flush();
  }

  private closeTcp(): void {
    const s = this.tcp;
    this.tcp = null;
    this.tcpReady = false;
    s?.destroy();
  }

  close(): void {
    this.closed = true;
    this.closeTcp();
  }
}
