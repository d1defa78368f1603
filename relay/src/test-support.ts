// Test support for the relay (server, fuzz and scale tests, and anyone testing a relay client):
// a coordinator key and NAT secret that issue tokens, simulated systems that sign registrations,
// and UDP and TCP clients on 127.0.0.1 that collect what the relay sends them.
import { randomBytes, type KeyObject } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIP, type Socket } from 'node:net';
import { createLogger, type Logger } from '../../src-shared/lib/log.js';
import { NatKind, peerId, signedBytes, withSignature } from '../../src-shared/wire/nat-wire.js';
import {
  parseRelayFrame,
  relayFrame,
  relayRegisterBody,
  relayRegisterContext,
} from '../../src-shared/wire/nat-relay.js';
import { TcpFrameReader, tcpFrame } from '../../src-shared/wire/nat-tcp.js';
import { privateKeyFromSeed, rawPublicKey, signEd25519 } from '../../src-shared/lib/ed25519.js';
import { issueRelayToken, RELAY_TOKEN_LIFETIME_MS } from '../../src-shared/lib/relay-token.js';
import { NatKeys } from '../../src-shared/lib/nat-keys.js';
import type { RelayLimits } from './options.js';
import { DEFAULT_RELAY_NAME, type Relay } from './server.js';

/** TestCoordinator issues relay tokens; publicKey and relayKey are what a relay is given
 * (relayKey: the key of a relay with the default name; keys.relayKey(NAME) for others). */
/** UNLIMITED_REGISTRATIONS lifts every registration rate limit, for tests that register many
 * times from one address or one system (the limits have their own tests). */
export const UNLIMITED_REGISTRATIONS: Partial<RelayLimits> = {
  registerPerIpPerSecond: 1e9,
  registerBurstPerIp: 1e9,
  registerPerPrefixPerSecond: 1e9,
  registerBurstPerPrefix: 1e9,
  registerPerIdPerSecond: 1e9,
  registerBurstPerId: 1e9,
  registerPerSecond: 1e9,
};

export interface TestCoordinator {
  signer: { sign(message: Uint8Array): Buffer };
  publicKey: Buffer;
  keys: NatKeys;
  relayKey: Buffer;
}

export function testCoordinator(): TestCoordinator {
  const key = privateKeyFromSeed(randomBytes(32));
  const keys = new NatKeys(randomBytes(32));
  return {
    signer: { sign: (m) => signEd25519(key, m) },
    publicKey: rawPublicKey(key),
    keys,
    relayKey: keys.relayKey(DEFAULT_RELAY_NAME),
  };
}

/** TestSystem is a simulated helper: a WireGuard key (only its bytes matter to the relay),
 * a machine key and a token. */
export interface TestSystem {
  systemId: string;
  wireguardKey: Buffer;
  id: Buffer;
  machineKey: KeyObject;
  machinePublic: Buffer;
  token: Buffer;
}

/** testSystem makes a system with a token from coord for the relay called relayName (default:
 * a standalone relay's default name); wireguardKey and expires are optional. */
export function testSystem(
  coord: TestCoordinator,
  systemId: string,
  o: { wireguardKey?: Buffer; expires?: number; now?: number; relayName?: string } = {},
): TestSystem {
  const wireguardKey = o.wireguardKey ?? randomBytes(32);
  const machineKey = privateKeyFromSeed(randomBytes(32));
  const machinePublic = rawPublicKey(machineKey);
  const expires = o.expires ?? (o.now ?? Date.now()) + RELAY_TOKEN_LIFETIME_MS;
  const relayKey = coord.keys.relayKey(o.relayName ?? DEFAULT_RELAY_NAME);
  const token = issueRelayToken(coord.signer, relayKey, { systemId, wireguardKey, machineKey: machinePublic, expires });
  return { systemId, wireguardKey, id: Buffer.from(peerId(wireguardKey)), machineKey, machinePublic, token };
}

/** registerMessage is a signed relayRegister from s (ts defaults to now, nonce to random) for the
 * relay named relayName (default: a standalone relay's default name). */
export function registerMessage(
  s: TestSystem,
  o: { ts?: number; nonce?: Buffer; token?: Buffer; signWith?: KeyObject; relayName?: string } = {},
): Buffer {
  const body = relayRegisterBody(o.token ?? s.token, o.ts ?? Date.now(), o.nonce ?? randomBytes(16));
  const context = relayRegisterContext(o.relayName ?? DEFAULT_RELAY_NAME);
  return Buffer.from(withSignature(body, signEd25519(o.signWith ?? s.machineKey, signedBytes(context, body))));
}

/** drained resolves once relay has verified every registration it had queued (admission.ts):
 * registrations are checked on a later event-loop turn than the one they arrive in. */
export async function drained(relay: Relay): Promise<void> {
  do await new Promise((resolve) => setImmediate(resolve));
  while (relay.stats().registrationsWaiting > 0);
}

/** sendMessage is a relaySend of payload to the peer with id dst. */
export function sendMessage(dst: Uint8Array, payload: Uint8Array): Buffer {
  return Buffer.from(relayFrame(NatKind.relaySend, dst, payload));
}

/** recvOf reads a relayRecv: the source id (hex) and payload, or null. */
export function recvOf(buf: Uint8Array): { from: string; payload: Buffer } | null {
  const f = parseRelayFrame(buf);
  if (f === null || f.kind !== 'recv') return null;
  return {
    from: Buffer.from(f.id).toString('hex'),
    payload: Buffer.from(buf.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength)),
  };
}

/** testLog collects log lines (all levels up to verbosity) in lines. */
export function testLog(verbosity = 3): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger(verbosity, { write: (l: string) => lines.push(l) }), lines };
}

/** Inbox queues messages and lets a test wait for the next one that matches. */
class Inbox {
  private readonly items: Buffer[] = [];
  private waiter: (() => void) | null = null;

  push(b: Buffer): void {
    this.items.push(b);
    this.waiter?.();
  }

  get length(): number {
    return this.items.length;
  }

  /** take removes and returns everything received so far. */
  take(): Buffer[] {
    return this.items.splice(0);
  }

  /** next resolves with the first message that matches (removing it), or rejects at the timeout. */
  async next(match: (b: Buffer) => boolean = () => true, timeoutMs = 2_000, what = 'a message'): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.items.findIndex(match);
      if (i >= 0) return this.items.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }
}

/** UdpClient is one UDP socket on 127.0.0.1 (or another loopback address) that talks to a relay. */
export class UdpClient {
  readonly inbox = new Inbox();
  private constructor(
    readonly sock: UdpSocket,
    readonly port: number,
    private readonly relayPort: number,
    private readonly relayIp: string,
  ) {}

  /** open binds on ip (either family) and talks to the relay at relayIp (loopback of ip's family). */
  static async open(
    relayPort: number,
    ip = '127.0.0.1',
    relayIp = isIP(ip) === 6 ? '::1' : '127.0.0.1',
  ): Promise<UdpClient> {
    const sock = createSocket({ type: isIP(ip) === 6 ? 'udp6' : 'udp4', ipv6Only: isIP(ip) === 6 });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, ip, () => resolve());
    });
    const c = new UdpClient(sock, sock.address().port, relayPort, relayIp);
    sock.on('message', (m) => c.inbox.push(m));
    return c;
  }

  send(buf: Uint8Array): void {
    this.sock.send(buf, this.relayPort, this.relayIp);
  }

  /** request sends buf and waits for a reply of the given kind. */
  async request(buf: Uint8Array, kind: number, timeoutMs = 2_000): Promise<Buffer> {
    this.send(buf);
    return this.inbox.next((b) => b[3] === kind, timeoutMs, `NAT kind 0x${kind.toString(16)}`);
  }

  /** quiet resolves to what arrived within ms (expected: nothing). */
  async quiet(ms = 150): Promise<Buffer[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.inbox.take();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** TcpClient is one TCP connection to a relay, speaking length-prefixed frames. */
export class TcpClient {
  readonly inbox = new Inbox();
  /** closed resolves when the relay (or the test) closed the connection. */
  readonly closed: Promise<void>;
  private readonly reader = new TcpFrameReader();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const frames = this.reader.push(chunk);
      if (frames === null) socket.destroy(new Error('relay sent a bad frame length'));
      else for (const f of frames) this.inbox.push(Buffer.from(f));
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<TcpClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new TcpClient(socket);
  }

  /** send writes one frame with its length prefix. */
  send(frame: Uint8Array): void {
    this.socket.write(tcpFrame(frame));
  }

  async request(frame: Uint8Array, kind: number, timeoutMs = 2_000): Promise<Buffer> {
    this.send(frame);
    return this.inbox.next((b) => b[3] === kind, timeoutMs, `NAT kind 0x${kind.toString(16)}`);
  }

  /** isClosedWithin resolves true if the connection closes within ms. */
  async isClosedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
    clearTimeout(timer);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}
