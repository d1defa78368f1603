// DiscoveryClient asks the coordinator's UDP port, from the WireGuard socket, which address and
// port it sees this helper at: the public NAT mapping peers should try. The request carries a
// MAC under this system's discovery key (fetched from the coordinator; the coordinator checks it
// before any signature work) and is signed with the machine key (so the coordinator records the
// mapping for the right system); the answer is signed with the coordinator's key (so nobody on
// the path can feed us a false mapping).
import { randomBytes } from 'node:crypto';
import { NAT_CONTEXT, signedBytes, withMac, withSignature } from '../../../src-shared/wire/nat-wire.js';
import { natMac } from '../../../src-shared/lib/nat-keys.js';
import { discoveryRequestBody, parseDiscoveryReply } from '../../../src-shared/wire/nat-discovery.js';
import { privateKeyFromSeed, signEd25519, verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint, parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { formatIp, parseIp } from '../../../src-shared/lib/ip/addr.js';
import { ipFromOctets } from '../../../src-shared/lib/ip/octets.js';
import type { Logger } from '../../../src-shared/lib/log.js';

/** Ask again this often once a mapping is known (NAT mappings change rarely, but they do). */
const REFRESH_MS = 20_000;
const RETRY_MS = 2000;
/** A key that has had no answer for this long is fetched again (the coordinator's secret may
 * have been replaced); a coordinator that cannot be asked is asked again after KEY_RETRY_MS. */
export const KEY_STALE_MS = 600_000;
export const KEY_RETRY_MS = 5000;
/** FAILOVER_TRIES unanswered requests move to the next endpoint (the other family's). */
export const FAILOVER_TRIES = 3;

export interface DiscoveryOptions {
  target: string; // "a.b.c.d:port" or "[ipv6]:port"
  /** alternates are the same port's other endpoints (a dual-stack coordinator's other family),
   * tried in turn after FAILOVER_TRIES requests go unanswered. */
  alternates?: readonly string[];
  systemId: string;
  machineSeed: Buffer;
  coordinatorKey: Buffer;
  /** key fetches this system's discovery key from the coordinator. */
  key(): Promise<Buffer>;
  sendUdp(buf: Buffer, addr: IpAddress, port: number): boolean;
  log: Logger;
  /** mapped is called when the observed mapping changes. */
  mapped(ip: string, port: number): void;
}

/** mappingText writes a mapping a.b.c.d:port or [ipv6]:port. */
export function mappingText(m: { ip: string; port: number }): string {
  const a = parseIp(m.ip);
  return a === null ? `${m.ip}:${m.port}` : formatIpEndpoint({ addr: a, port: m.port });
}

export class DiscoveryClient {
  /** addr is the coordinator's UDP address in use, or null if it does not parse (never asked). */
  addr: IpAddress | null = null;
  port = 0;
  private readonly targets: string[];
  private current = 0;
  private unanswered = 0;
  private readonly signer;
  private nonce: Buffer | null = null;
  private next = 0;
  private key: Buffer | null = null;
  private keyAt = 0;
  private fetching = false;
  private keyRetryAt = 0;
  mapping: { ip: string; port: number } | null = null;
  lastReplyAt = 0;

  constructor(private readonly o: DiscoveryOptions) {
    this.targets = [o.target, ...(o.alternates ?? []).slice(0, 3)];
    this.use(0);
    this.signer = privateKeyFromSeed(o.machineSeed);
  }

  /** target names every endpoint in order (a new map with the same ones keeps this client). */
  get target(): string {
    return this.targets.join(' ');
  }

  private use(i: number): void {
    this.current = i;
    const e = parseIpEndpoint(this.targets[i]!);
    this.addr = e?.addr ?? null;
    this.port = e?.port ?? 0;
  }

  // failOver moves to the next endpoint once the current one has gone unanswered long enough.
  private failOver(): void {
    if (this.nonce === null) return;
    if (++this.unanswered < FAILOVER_TRIES || this.targets.length < 2) return;
    const from = this.targets[this.current]!;
    this.unanswered = 0;
    this.use((this.current + 1) % this.targets.length);
    this.o.log.info(`discovery: no answer from ${from}; trying ${this.targets[this.current]}`);
  }

  /** askNow makes the next tick send a request (e.g. after the network changed). */
  askNow(): void {
    this.next = 0;
  }

  tick(now: number): void {
    if (now < this.next) return;
    if (this.key !== null) this.failOver();
    if (this.addr === null) return;
    if (this.key !== null && now - Math.max(this.keyAt, this.lastReplyAt) > KEY_STALE_MS) this.key = null;
    if (this.key === null) {
      this.fetchKey(now);
      return;
    }
    this.nonce = randomBytes(16);
    const body = discoveryRequestBody(this.o.systemId, Date.now(), this.nonce);
    const maced = withMac(body, natMac(this.key, NAT_CONTEXT.discoveryMac, body));
    const msg = Buffer.from(
      withSignature(maced, signEd25519(this.signer, signedBytes(NAT_CONTEXT.discoveryRequest, maced))),
    );
    this.o.sendUdp(msg, this.addr, this.port);
    this.next = now + (this.mapping !== null && Date.now() - this.lastReplyAt < 2 * REFRESH_MS ? REFRESH_MS : RETRY_MS);
  }

  private fetchKey(now: number): void {
    if (this.fetching || now < this.keyRetryAt) return;
    this.fetching = true;
    this.o
      .key()
      .then(
        // Timed from the tick that asked, on the tick's clock, which the staleness check compares
        // against: a key counts as fetched when it was asked for.
        (k) => {
          this.key = k;
          this.keyAt = now;
          this.next = 0;
        },
        (e: Error) => {
          this.keyRetryAt = now + KEY_RETRY_MS;
          this.o.log.rateLimited('discovery-key', 60_000).warn(`no discovery key: ${e.message}`);
        },
      )
      .finally(() => {
        this.fetching = false;
      });
  }

  /** onReply takes a discovery reply that came from the coordinator's address. */
  onReply(msg: Buffer): void {
    const r = parseDiscoveryReply(msg);
    if (r === null || this.nonce === null || !Buffer.from(r.nonce).equals(this.nonce)) return;
    if (!verifyEd25519(this.o.coordinatorKey, signedBytes(NAT_CONTEXT.discoveryReply, r.signed), r.signature)) return;
    const addr = ipFromOctets(r.addr);
    if (addr === null) return;
    this.nonce = null;
    this.unanswered = 0;
    this.lastReplyAt = Date.now();
    const ip = formatIp(addr);
    if (this.mapping?.ip !== ip || this.mapping.port !== r.port) {
      const before = this.mapping;
      this.mapping = { ip, port: r.port };
      this.o.log.info(
        `public UDP mapping ${before ? `changed from ${mappingText(before)} to` : 'is'} ${mappingText(this.mapping)} (seen by the coordinator)`,
      );
      this.o.mapped(ip, r.port);
    }
  }
}
