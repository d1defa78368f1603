// Endpoint discovery (src-shared/wire/nat-discovery.ts): a helper sends a request signed
// with its machine key from its WireGuard socket to the coordinator's UDP port, and the
// coordinator answers with the address and port it saw the datagram come from, signed with
// its own key. That address is the socket's public NAT mapping, the best endpoint a peer can
// try, so it is also recorded on the system and goes first in its peers' maps (netmap.ts).
//
// Every datagram is untrusted, and the same process answers the HTTP API, so forged datagrams
// must cost next to nothing. The checks run in two steps. Where a datagram arrives: the format,
// an active system with that id, the time, and the request's MAC under the system's discovery
// key (one HMAC to derive the key, one to check it: a forger who is not that system stops
// here), then the rate limits per system, per source address, per source prefix (IPv4 /24) and
// in total. What passes waits in a bounded queue (TurnQueue) that verifies the signature and
// signs the answer for at most a couple of milliseconds per event-loop turn, after that turn's
// I/O. Nothing is remembered about a request before its signature verified (so forged requests
// cannot fill the replay cache). A refused request gets no answer at all (an answer would tell
// a prober which system ids exist) and bumps a counter for its reason.
import { formatIp, parseIp, unmapIPv4 } from '../../../src-shared/lib/ip/addr.js';
import { ipToOctets } from '../../../src-shared/lib/ip/octets.js';
import { endpointText, observedEndpoint } from '../../../src-shared/lib/ip/underlay.js';
import { NonceCache } from '../../../src-shared/lib/nonce-cache.js';
import type { MachineKeys } from '../auth/agent-auth.js';
import { verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import type { Registry } from '../store/registry.js';
import type { SigningKey } from '../auth/signing.js';
import { RateLimiter, SourceLimiter, type SourceRate } from '../../../src-shared/lib/rate-limit.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { natMacOk, type NatKeys } from '../../../src-shared/lib/nat-keys.js';
import { TurnQueue } from '../../../src-shared/lib/turn-queue.js';
import { NAT_CONTEXT, NAT_LIMITS, signedBytes, withSignature } from '../../../src-shared/wire/nat-wire.js';
import {
  discoveryReplyBody,
  parseDiscoveryRequest,
  type DiscoveryRequest,
} from '../../../src-shared/wire/nat-discovery.js';
import type { LiveSystem } from '../store/registry.js';

/** DISCOVERY_DROPS are the reasons a discovery request goes unanswered. */
export const DISCOVERY_DROPS = [
  'bad-source',
  'rate-limited',
  'malformed',
  'unknown-system',
  'not-active',
  'clock-skew',
  'bad-mac',
  'bad-signature',
  'replay',
  'too-many-requests',
  'busy',
] as const;
export type DiscoveryDrop = (typeof DISCOVERY_DROPS)[number];

/** DiscoveryStats count what the discovery port did. */
export interface DiscoveryStats {
  answered: number;
  /** recorded counts changes of a system's observed UDP mapping. */
  recorded: number;
  dropped: Record<DiscoveryDrop, number>;
}

/** DiscoveryRate: buckets per source address, per source prefix, per system, and in total. */
export interface DiscoveryRate {
  address: SourceRate;
  prefix: SourceRate;
  perSystem: SourceRate;
  total: number;
  maxSources: number;
}

/** DISCOVERY_RATE is the default. Generous per address and prefix, because one office NAT can
 * hide dozens of systems behind one address; a helper asks every 20 s (every 2 s until
 * answered), so one system needs little; the total keeps the signature work (about 0.2 ms a
 * request: a verification and a signature) under half a core. */
export const DISCOVERY_RATE: DiscoveryRate = {
  address: { burst: 32, perSecond: 8 },
  prefix: { burst: 256, perSecond: 64 },
  perSystem: { burst: 8, perSecond: 1 },
  total: 2_000,
  maxSources: 16_384,
};

/** DISCOVERY_QUEUE bounds the requests waiting for their signature work, and that work per turn. */
export const DISCOVERY_QUEUE = { max: 1_024, turnMs: 2 } as const;

/** DISCOVERY_NONCES bound the replay cache: every request's nonce is kept for twice the skew
 * window; one system gets at most perSystem requests within it (a helper needs a few). */
export const DISCOVERY_NONCES = { total: 100_000, perSystem: 600 } as const;

/** SWEEP_MS: how often refilled rate buckets are forgotten (on the next request). */
const SWEEP_MS = 10_000;

/** DiscoveryOptions wire Discovery to the coordinator. */
export interface DiscoveryOptions {
  registry: Registry;
  machineKeys: MachineKeys;
  signingKey: Pick<SigningKey, 'sign'>;
  /** keys derives each system's discovery key (its requests' MAC key). */
  keys: Pick<NatKeys, 'discoveryKey'>;
  log: Logger;
  now: () => number;
  /** recordLoopback: record mappings from 127.0.0.0/8 too. Only right when the port itself is
   * on loopback (every system then runs on this host); otherwise a loopback mapping would point
   * remote peers at themselves. Requests from loopback are answered either way. */
  recordLoopback: boolean;
  rate?: DiscoveryRate;
}

/** ReplyFn sends a datagram back out of the socket the request came in on. */
export type ReplyFn = (buf: Uint8Array, ip: string, port: number) => void;

/** Waiting is a screened request in the queue. */
interface Waiting {
  req: DiscoveryRequest;
  system: Pick<LiveSystem, 'id'>;
  ip: string;
  port: number;
  reply: ReplyFn;
}

/** Discovery answers discovery requests; see the file comment. */
export class Discovery {
  private readonly sources: SourceLimiter;
  private readonly perSystem: RateLimiter;
  private readonly total: RateLimiter;
  private lastSweep = 0;
  private readonly nonces = new NonceCache(2 * NAT_LIMITS.skewMs, DISCOVERY_NONCES);
  private readonly counts: DiscoveryStats;
  private readonly queue: TurnQueue<Waiting>;

  constructor(private readonly opts: DiscoveryOptions) {
    const r = opts.rate ?? DISCOVERY_RATE;
    this.sources = new SourceLimiter({ address: r.address, prefix: r.prefix, maxSources: r.maxSources });
    this.perSystem = new RateLimiter(r.perSystem.perSecond, r.perSystem.burst, r.maxSources);
    this.total = new RateLimiter(r.total, r.total, 1);
    const dropped = {} as Record<DiscoveryDrop, number>;
    for (const d of DISCOVERY_DROPS) dropped[d] = 0;
    this.counts = { answered: 0, recorded: 0, dropped };
    this.queue = new TurnQueue<Waiting>(
      (w) => this.count(this.answer(w), w.ip, w.port),
      DISCOVERY_QUEUE,
      (e) => opts.log.rateLimited('discovery-bug', 60_000).error(`discovery: ${(e as Error).stack ?? String(e)}`),
    );
  }

  /** stats returns a copy of the counters. */
  stats(): DiscoveryStats {
    return { answered: this.counts.answered, recorded: this.counts.recorded, dropped: { ...this.counts.dropped } };
  }

  /** handle takes one datagram whose kind is discoveryRequest; it never throws for bad input. */
  handle(msg: Uint8Array, srcIp: string, srcPort: number, reply: ReplyFn): void {
    this.count(this.screen(msg, srcIp, srcPort, reply), srcIp, srcPort);
  }

  /** close drops the requests still waiting. */
  close(): void {
    this.queue.clear();
  }

  private count(why: DiscoveryDrop | null, srcIp: string, srcPort: number): void {
    if (why !== null) {
      this.counts.dropped[why]++;
      if (this.opts.log.enabled('debug'))
        this.opts.log
          .rateLimited(`discovery:${why}`, 10_000)
          .debug(`discovery request from ${srcIp}:${srcPort} dropped: ${why}`);
    }
  }

  // screen runs the cheap checks and queues what passes (see the file comment).
  private screen(msg: Uint8Array, srcIp: string, srcPort: number, reply: ReplyFn): DiscoveryDrop | null {
    // The reply carries the source address of either family (4 or 16 bytes); a dual-stack
    // socket's mapped IPv4 source is told its IPv4 address.
    const from = parseIp(srcIp);
    if (from === null || srcPort < 1 || srcPort > 65535) return 'bad-source';
    const ip = formatIp(unmapIPv4(from));
    const now = this.opts.now();
    if (Math.abs(now - this.lastSweep) > SWEEP_MS) {
      this.lastSweep = now;
      this.sources.sweep(now);
      this.perSystem.sweep(now);
    }
    const req = parseDiscoveryRequest(msg);
    if (req === null) return 'malformed';
    const system = this.opts.registry.get(req.systemId);
    if (!system) return 'unknown-system';
    if (system.state !== 'active') return 'not-active';
    if (Math.abs(now - req.ts) > NAT_LIMITS.skewMs) return 'clock-skew';
    if (!natMacOk(this.opts.keys.discoveryKey(system.id), NAT_CONTEXT.discoveryMac, req.maced, req.mac))
      return 'bad-mac';
    // Per system first: a leaked discovery key replayed from many addresses spends that system's
    // bucket, not the buckets of the networks it is sent from.
    if (!this.perSystem.allow(system.id, now) || !this.sources.allow(ip, now) || !this.total.allow('', now))
      return 'rate-limited';
    return this.queue.push({ req, system, ip, port: srcPort, reply }) ? null : 'busy';
  }

  // answer verifies a screened request's signature and nonce and answers it (on the queue's turn).
  private answer(w: Waiting): DiscoveryDrop | null {
    const { req, ip } = w;
    const now = this.opts.now();
    // Looked up again: the system may have been revoked while its request waited.
    const system = this.opts.registry.get(w.system.id);
    if (!system || system.state !== 'active') return 'not-active';
    let key;
    try {
      key = this.opts.machineKeys.get(system.id, system.machineKey);
    } catch {
      return 'bad-signature';
    }
    if (!verifyEd25519(key, signedBytes(NAT_CONTEXT.discoveryRequest, req.signed), req.signature))
      return 'bad-signature';
    const admitted = this.nonces.admit(system.id, Buffer.from(req.nonce).toString('hex'), now);
    if (admitted === 'replay') return 'replay';
    if (admitted === 'rate-limited') return 'too-many-requests';

    const from = parseIp(ip);
    if (from === null) return 'bad-source';
    const body = discoveryReplyBody(req.nonce, ipToOctets(from), w.port);
    w.reply(withSignature(body, this.opts.signingKey.sign(signedBytes(NAT_CONTEXT.discoveryReply, body))), ip, w.port);
    this.counts.answered++;
    if (this.opts.recordLoopback || observedEndpoint(ip, w.port) !== null) {
      const mapping = endpointText(ip, w.port);
      if (this.opts.registry.noteUdp(system, mapping)) {
        this.counts.recorded++;
        this.opts.log.debug(`discovery: ${system.identity} is at ${mapping} (UDP)`);
      }
    }
    return null;
  }
}
