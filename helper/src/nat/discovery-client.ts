// DiscoveryClient asks the coordinator's UDP port, from the WireGuard socket, which address and
// port it sees this helper at: the public NAT mapping peers should try. The request is signed
// with the machine key (so the coordinator records the mapping for the right system) and the
// answer with the coordinator's key (so nobody on the path can feed us a false mapping).
import { randomBytes } from 'node:crypto';
import { NAT_CONTEXT, signedBytes, withSignature } from '../../../src-shared/wire/nat-wire.js';
import { discoveryRequestBody, parseDiscoveryReply } from '../../../src-shared/wire/nat-discovery.js';
import { privateKeyFromSeed, signEd25519, verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { parseEndpointAddr } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';

/** Ask again this often once a mapping is known (NAT mappings change rarely, but they do). */
const REFRESH_MS = 20_000;
const RETRY_MS = 2000;

export interface DiscoveryOptions {
  target: string; // "a.b.c.d:port"
  systemId: string;
  machineSeed: Buffer;
  coordinatorKey: Buffer;
  sendUdp(buf: Buffer, addr: number, port: number): boolean;
  log: Logger;
  /** mapped is called when the observed mapping changes. */
  mapped(ip: string, port: number): void;
}

export class DiscoveryClient {
  readonly addr: number;
  readonly port: number;
  private readonly signer;
  private nonce: Buffer | null = null;
  private next = 0;
  mapping: { ip: string; port: number } | null = null;
  lastReplyAt = 0;

  constructor(private readonly o: DiscoveryOptions) {
    const e = parseEndpointAddr(o.target);
    this.addr = e?.addr ?? 0; // 0: never asked (tick checks)
    this.port = e?.port ?? 0;
    this.signer = privateKeyFromSeed(o.machineSeed);
  }

  get target(): string {
    return this.o.target;
  }

  /** askNow makes the next tick send a request (e.g. after the network changed). */
  askNow(): void {
    this.next = 0;
  }

  tick(now: number): void {
    if (now < this.next || this.addr === 0) return;
    this.nonce = randomBytes(16);
    const body = discoveryRequestBody(this.o.systemId, Date.now(), this.nonce);
    const msg = Buffer.from(
      withSignature(body, signEd25519(this.signer, signedBytes(NAT_CONTEXT.discoveryRequest, body))),
    );
    this.o.sendUdp(msg, this.addr, this.port);
    this.next = now + (this.mapping !== null && Date.now() - this.lastReplyAt < 2 * REFRESH_MS ? REFRESH_MS : RETRY_MS);
  }

  /** onReply takes a discovery reply that came from the coordinator's address. */
  onReply(msg: Buffer): void {
    const r = parseDiscoveryReply(msg);
    if (r === null || this.nonce === null || !Buffer.from(r.nonce).equals(this.nonce)) return;
    if (!verifyEd25519(this.o.coordinatorKey, signedBytes(NAT_CONTEXT.discoveryReply, r.signed), r.signature)) return;
    this.nonce = null;
    this.lastReplyAt = Date.now();
    if (this.mapping?.ip !== r.ip || this.mapping.port !== r.port) {
      const before = this.mapping;
      this.mapping = { ip: r.ip, port: r.port };
      this.o.log.info(
        `public UDP mapping ${before ? `changed from ${before.ip}:${before.port} to` : 'is'} ${r.ip}:${r.port} (seen by the coordinator)`,
      );
      this.o.mapped(r.ip, r.port);
    }
  }
}
